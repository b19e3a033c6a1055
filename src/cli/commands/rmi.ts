import { ContainerStore } from '../../container/store';
import { ConflictError } from '../../image/errors';
import { resolveImage } from '../../image/images';
import { removeImage, shortId } from '../../image/manage';
import { Store } from '../../image/store';
import { optionFlag, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { openHomeStore, withImageErrors } from './image-errors';

/** `noah rmi`: untag and remove images. */
export const rmiCommand: Command = {
  name: 'rmi',
  usage: '[--force] IMAGE [IMAGE...]',
  summary: 'Remove one or more images',
  options: [
    {
      name: 'force',
      short: 'f',
      help: 'remove an image with several tags, or one that stopped containers use',
    },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length === 0) throw new UsageError('noah rmi needs at least one image');
    const force = optionFlag(parsed, 'force');
    return withImageErrors(async () => {
      const store = await openHomeStore();
      let status = 0;
      for (const name of parsed.positionals) {
        try {
          if (force) await checkNoRunningUser(store, name);
          const result = await removeImage(store, name, force);
          for (const tag of result.untagged) io.stdout.write(`Untagged: ${tag}\n`);
          for (const id of result.deleted) io.stdout.write(`Deleted: ${id}\n`);
        } catch (error) {
          // As docker rmi does, report each failure and go on with the other images.
          io.stderr.write(`noah: ${(error as Error).message}\n`);
          status = 1;
        }
      }
      return status;
    });
  },
};

/**
 * Raises Docker's conflict error when a running container uses the image `name`: --force
 * removes an image that stopped containers use, never one that a running container uses.
 */
async function checkNoRunningUser(store: Store, name: string): Promise<void> {
  const image = await resolveImage(store, name);
  // NOTE: the check runs before removeImage takes the store lock, so a container of this
  // image that starts in between still loses its image.
  const containers = await new ContainerStore(store).list();
  const running = containers.find(
    (c) => c.config.image === image.id && c.state.status === 'running',
  );
  if (running === undefined) return;
  throw new ConflictError(
    `conflict: unable to delete ${shortId(image.id)} (cannot be forced) - image is being ` +
      `used by running container ${running.config.id.slice(0, 12)}`,
  );
}
