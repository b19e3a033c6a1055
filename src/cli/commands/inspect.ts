import { inspectDocument } from '../../container/format';
import { resolveImage } from '../../image/images';
import { inspectImage } from '../../image/manage';
import { OptionSpec, optionValue, parseArgs } from '../args';
import { Command, CommandIo } from '../command';
import { CliError, UsageError } from '../errors';
import { executeTemplate, parseTemplate } from '../list-format';
import { Template } from '../template';
import { openContainerStore } from './container-store';
import { withImageErrors } from './image-errors';

/** Exit status of `docker inspect` when its --format template does not parse. */
const TEMPLATE_SYNTAX_STATUS = 64;

/** The -f option of `inspect` and `image inspect`. */
export const inspectFormatOption: OptionSpec = {
  name: 'format',
  short: 'f',
  value: true,
  help: 'print each object through a Go template such as "{{.State.Status}}", or "json" for one line',
};

/**
 * Prints inspect documents as their --format requests: an indented JSON array by default, a
 * one-line array for "json", or a template's output, one line per document.
 */
export class InspectPrinter {
  private readonly template: Template | undefined;
  private readonly documents: object[] = [];
  private templateOutput = '';
  private failed = false;

  /** Parses `format` first, so a bad template fails before any lookup, with status 64. */
  constructor(private readonly format: string | undefined) {
    if (format === undefined || format === '' || format === 'json') return;
    try {
      this.template = parseTemplate(format);
    } catch (error) {
      if (error instanceof CliError) throw new CliError(error.message, TEMPLATE_SYNTAX_STATUS);
      throw error;
    }
  }

  /** Adds `document`, reporting a template that fails on it to `io.stderr`. */
  add(document: object, io: CommandIo): void {
    if (this.template === undefined) {
      this.documents.push(document);
      return;
    }
    try {
      this.templateOutput += executeTemplate(this.template, document) + '\n';
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      io.stderr.write(`noah: ${error.message}\n`);
      this.failed = true;
    }
  }

  /** Writes what was added and returns 1 when a template failed, else 0. */
  finish(io: CommandIo): number {
    if (this.template !== undefined) {
      io.stdout.write(this.templateOutput === '' ? '\n' : this.templateOutput);
    } else if (this.format === 'json') {
      io.stdout.write(JSON.stringify(this.documents) + '\n');
    } else {
      io.stdout.write(JSON.stringify(this.documents, null, 4) + '\n');
    }
    return this.failed ? 1 : 0;
  }
}

/**
 * `noah inspect`: one document per name, a container's when a container has that name or ID,
 * else an image's, as `docker inspect` looks them up.
 */
export const inspectCommand: Command = {
  name: 'inspect',
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  summary: 'Print details of containers or images as JSON',
  options: [inspectFormatOption],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length === 0) throw new UsageError('noah inspect needs a name or ID');
    const printer = new InspectPrinter(optionValue(parsed, 'format'));
    const store = await withImageErrors(openContainerStore);
    let status = 0;
    for (const name of parsed.positionals) {
      let document: object;
      try {
        document = await withImageErrors(async () => {
          const container = await store.find(name);
          if (container !== undefined) {
            return inspectDocument(container, store.rootfs(container.config));
          }
          return inspectImage(store.images, await resolveImage(store.images, name));
        });
      } catch {
        io.stderr.write(`noah: No such object: ${name}\n`);
        status = 1;
        continue;
      }
      printer.add(document, io);
    }
    return Math.max(status, printer.finish(io));
  },
};
