import * as os from 'node:os';
import * as path from 'node:path';

/** The store's root folder: `$NOAH_HOME`, or `~/.noah`. */
export function noahHome(): string {
  const fromEnv = process.env.NOAH_HOME;
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(fromEnv);
  return path.join(os.homedir(), '.noah');
}
