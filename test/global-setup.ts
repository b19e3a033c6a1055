/**
 * Jest global setup: builds the fixture images and root folders (cached in rootfs-cache/, so
 * only the first run after a recipe change is slow), starts docker-registry on 127.0.0.1 with
 * its storage in a temporary folder, and pushes the images. Test workers find the registry
 * through NOAH_TEST_REGISTRY (the address) and NOAH_TEST_REGISTRY_INFO (a JSON file that
 * `testRegistry()` in test/helpers/registry.ts reads). test/global-teardown.ts stops it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { buildAllFixtures, fixtureImage, fixtureRootfs } from './fixtures/images';
import {
  RegistryImageName,
  RegistryServer,
  TestRegistryInfo,
  fixturesFor,
  pushFixtures,
  registryAddressVariable,
  registryImageNames,
  registryImagesVariable,
  registryInfoVariable,
  registryPidVariable,
  startRegistry,
} from './helpers/registry';

/** State for the global teardown, which jest runs in the same process as the setup. */
export interface GlobalRegistryState {
  server: RegistryServer;
  directory: string;
  /** Kills the registry if jest exits without running the global teardown. */
  exitHandler: () => void;
}

declare global {
  var noahTestRegistry: GlobalRegistryState | undefined;
}

function selectedImages(): RegistryImageName[] {
  const value = process.env[registryImagesVariable];
  if (value === undefined || value.trim() === '') {
    return registryImageNames;
  }
  const names = value.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(registryImageNames as string[]).includes(name)) {
      throw new Error(
        `${registryImagesVariable} names an unknown image "${name}". ` +
          `Known images: ${registryImageNames.join(', ')}`,
      );
    }
  }
  return names as RegistryImageName[];
}

/** Builds the fixtures that the selected images need, or every fixture when all are selected. */
async function buildFixtures(names: RegistryImageName[]): Promise<void> {
  if (names.length === registryImageNames.length) {
    await buildAllFixtures();
    return;
  }
  for (const fixture of fixturesFor(names)) {
    await fixtureImage(fixture);
  }
  await fixtureRootfs('busybox');
}

/**
 * Makes SIGINT, SIGTERM and SIGHUP to the jest process stop the registry, then lets the signal
 * end the process as it would have without these handlers. A signal skips the `exit` event.
 */
function stopOnSignals(): void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const handler = (signal: NodeJS.Signals) => {
    for (const other of signals) {
      process.removeListener(other, handler);
    }
    globalThis.noahTestRegistry?.exitHandler();
    process.kill(process.pid, signal);
  };
  for (const signal of signals) {
    if (process.listenerCount(signal) === 0) {
      process.once(signal, handler);
    }
  }
}

export default async function globalSetup(): Promise<void> {
  const names = selectedImages();
  const started = Date.now();
  process.stderr.write('\nPreparing fixture images (a cold rootfs-cache/ runs mmdebstrap)...\n');
  await buildFixtures(names);
  const built = Date.now();

  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-test-registry-'));
  let server: RegistryServer | undefined;
  try {
    server = await startRegistry({ directory });
    const info: TestRegistryInfo = {
      address: server.address,
      images: await pushFixtures(server.address, names),
    };
    const infoFile = path.join(directory, 'images.json');
    fs.writeFileSync(infoFile, `${JSON.stringify(info, null, 2)}\n`);

    // Workers are forked after the global setup, so they inherit these variables.
    process.env[registryAddressVariable] = server.address;
    process.env[registryInfoVariable] = infoFile;
    process.env[registryPidVariable] = String(server.pid);

    const pid = server.pid;
    const exitHandler = () => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // The registry has already exited.
      }
      fs.rmSync(directory, { recursive: true, force: true });
    };
    process.once('exit', exitHandler);
    globalThis.noahTestRegistry = { server, directory, exitHandler };
    stopOnSignals();
  } catch (error) {
    await server?.stop();
    fs.rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  const seconds = (milliseconds: number) => (milliseconds / 1000).toFixed(1);
  process.stderr.write(
    `Test registry on ${server.address} with ${names.length} images ` +
      `(fixtures ${seconds(built - started)} s, ` +
      `registry and push ${seconds(Date.now() - built)} s)\n`,
  );
}
