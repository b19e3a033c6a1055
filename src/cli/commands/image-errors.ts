import { ImageError } from '../../image/errors';
import { noahHome } from '../../home';
import { openStore, Store } from '../../image/store';
import { CliError } from '../errors';

/** Runs an image command's body, turning image errors into CLI errors with their exit status. */
export async function withImageErrors<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof ImageError) throw new CliError(error.message, error.exitStatus);
    throw error;
  }
}

/** Opens the store under NOAH_HOME, or ~/.noah. */
export function openHomeStore(): Promise<Store> {
  return openStore(noahHome());
}
