import * as fs from 'node:fs';
import * as path from 'node:path';
import { noahHome } from '../../home';
import { parsePlatform } from '../../image/manifest';
import { PullProgressRenderer } from '../../image/progress';
import { pullImage } from '../../image/pull';
import { formatReference } from '../../image/reference';
import { optionFlag, optionValue, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { addImageSubcommand } from './image';
import { openHomeStore, withImageErrors } from './image-errors';

/**
 * Registries that may be reached over plain HTTP besides localhost and 127.0.0.0/8: the
 * comma-separated NOAH_INSECURE_REGISTRIES, and "insecure-registries" in NOAH_HOME/config.json
 * (the key Docker's daemon.json uses).
 */
export function insecureRegistries(): string[] {
  const list = (process.env.NOAH_INSECURE_REGISTRIES ?? '').split(',').filter(Boolean);
  try {
    const config = JSON.parse(fs.readFileSync(path.join(noahHome(), 'config.json'), 'utf8')) as {
      'insecure-registries'?: unknown;
    };
    const fromFile = config['insecure-registries'];
    if (Array.isArray(fromFile))
      list.push(...fromFile.filter((h): h is string => typeof h === 'string'));
  } catch {
    // No config.json: only the environment variable counts.
  }
  return list;
}

/** `noah pull`: an image from a registry into the store. */
export const pullCommand: Command = {
  name: 'pull',
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  summary: 'Download an image from a registry',
  options: [
    {
      name: 'platform',
      value: true,
      help: 'platform to pull from a multi-platform image, OS/ARCH[/VARIANT]',
    },
    { name: 'quiet', short: 'q', help: 'print only the image reference' },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length !== 1) throw new UsageError('noah pull needs exactly one image');
    const quiet = optionFlag(parsed, 'quiet');
    return withImageErrors(async () => {
      const platformText = optionValue(parsed, 'platform');
      const platform = platformText === undefined ? undefined : parsePlatform(platformText);
      const store = await openHomeStore();
      const terminal = (io.stdout as NodeJS.WriteStream).isTTY === true;
      const renderer = new PullProgressRenderer(io.stdout, terminal);
      const result = await pullImage(store, parsed.positionals[0], {
        platform,
        insecureRegistries: insecureRegistries(),
        onEvent: quiet ? undefined : (event) => renderer.handle(event),
        log: quiet ? undefined : (message) => io.stderr.write(`${message}\n`),
      });
      if (quiet) io.stdout.write(`${formatReference(result.reference)}\n`);
      return 0;
    });
  },
};

addImageSubcommand(pullCommand);
