import { removeImage } from '../../image/manage';
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
      help: 'remove an image with several tags, or one that containers use',
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
