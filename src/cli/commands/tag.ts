import { resolveImage, tagImage } from '../../image/images';
import { parseReference } from '../../image/reference';
import { parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { openHomeStore, withImageErrors } from './image-errors';

/** `noah tag`: another name for a stored image. */
export const tagCommand: Command = {
  name: 'tag',
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  options: [],
  async run(argv) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length !== 2) {
      throw new UsageError('noah tag needs exactly two arguments: SOURCE_IMAGE TARGET_IMAGE');
    }
    const [source, target] = parsed.positionals;
    return withImageErrors(async () => {
      const ref = parseReference(target);
      if (ref.digest !== undefined) {
        throw new UsageError(`invalid target "${target}": a tag cannot contain a digest`);
      }
      const store = await openHomeStore();
      const record = await resolveImage(store, source);
      await tagImage(store, ref, record.id);
      return 0;
    });
  },
};
