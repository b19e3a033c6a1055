import { ImageError } from '../../image/errors';
import { noahHome } from '../../home';
import { openStore, Store, systemErrorText } from '../../image/store';
import { CliError, ExitStatus } from '../errors';

/**
 * Runs an image command's body, turning image errors into CLI errors with their exit status,
 * and file system errors into one line that names the path.
 */
export async function withImageErrors<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof ImageError) throw new CliError(error.message, error.exitStatus);
    const file = (error as NodeJS.ErrnoException | undefined)?.path;
    if (error instanceof Error && typeof file === 'string') {
      throw new CliError(`${file}: ${systemErrorText(error)}`, ExitStatus.noahFailed);
    }
    throw error;
  }
}

/** Opens the store under NOAH_HOME, or ~/.noah. */
export function openHomeStore(): Promise<Store> {
  return openStore(noahHome());
}
