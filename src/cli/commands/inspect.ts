import { inspectDocument } from '../../container/format';
import { resolveImage } from '../../image/images';
import { inspectImage } from '../../image/manage';
import { parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { openContainerStore } from './container-store';
import { withImageErrors } from './image-errors';

/**
 * `noah inspect`: a JSON array with one document per name, a container's when a container has
 * that name or ID, else an image's, as `docker inspect` looks them up.
 */
export const inspectCommand: Command = {
  name: 'inspect',
  usage: 'NAME|ID [NAME|ID...]',
  summary: 'Print details of containers or images as JSON',
  options: [],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length === 0) throw new UsageError('noah inspect needs a name or ID');
    const store = await withImageErrors(openContainerStore);
    const documents: object[] = [];
    let status = 0;
    for (const name of parsed.positionals) {
      try {
        documents.push(
          await withImageErrors(async () => {
            const container = await store.find(name);
            if (container !== undefined) {
              return inspectDocument(container, store.rootfs(container.config));
            }
            return inspectImage(store.images, await resolveImage(store.images, name));
          }),
        );
      } catch {
        io.stderr.write(`noah: No such object: ${name}\n`);
        status = 1;
      }
    }
    io.stdout.write(JSON.stringify(documents, null, 4) + '\n');
    return status;
  },
};
