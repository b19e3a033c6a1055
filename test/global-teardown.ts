/** Jest global teardown: stops the registry of test/global-setup.ts and removes its storage. */
import * as fs from 'node:fs';

// The type import also brings in the declaration of globalThis.noahTestRegistry.
import type { GlobalRegistryState } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const state: GlobalRegistryState | undefined = globalThis.noahTestRegistry;
  if (state === undefined) {
    return;
  }
  globalThis.noahTestRegistry = undefined;
  process.removeListener('exit', state.exitHandler);
  try {
    await state.server.stop();
  } finally {
    fs.rmSync(state.directory, { recursive: true, force: true });
  }
}
