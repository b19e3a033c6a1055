import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { loadArchive } from '../../image/archive';
import { DEFAULT_PLATFORM, parsePlatform } from '../../image/manifest';
import { optionFlag, optionValue, parseArgs } from '../args';
import { Command } from '../command';
import { CliError, UsageError } from '../errors';
import { openHomeStore, withImageErrors } from './image-errors';

/** `noah load`: images from a `docker save` tar or an OCI image layout tar. */
export const loadCommand: Command = {
  name: 'load',
  usage: '[-i FILE] [--platform OS/ARCH[/VARIANT]]',
  summary:
    'Load images from a docker save or OCI layout tar, plain, gzip or zstd (standard input without -i)',
  options: [
    {
      name: 'input',
      short: 'i',
      value: true,
      help: 'read the tar from FILE (plain, gzip or zstd)',
    },
    { name: 'platform', value: true, help: 'platform to load from a multi-platform index' },
    { name: 'quiet', short: 'q', help: 'print nothing' },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length > 0) throw new UsageError('noah load takes no arguments');
    const file = optionValue(parsed, 'input');
    if (file !== undefined && !fs.existsSync(file)) throw new CliError(`${file}: no such file`);
    if (file !== undefined && fs.statSync(file).isDirectory()) {
      throw new CliError(`${file}: is a directory, not a tar file`);
    }
    return withImageErrors(async () => {
      const platformText = optionValue(parsed, 'platform');
      const platform = platformText === undefined ? DEFAULT_PLATFORM : parsePlatform(platformText);
      const input = file === undefined ? (process.stdin as Readable) : fs.createReadStream(file);
      const store = await openHomeStore();
      const label = file ?? 'standard input';
      const loaded = await loadArchive(store, input, label, platform);
      if (!optionFlag(parsed, 'quiet')) {
        for (const { record, tags } of loaded) {
          if (tags.length === 0) io.stdout.write(`Loaded image ID: ${record.id}\n`);
          for (const tag of tags) io.stdout.write(`Loaded image: ${tag}\n`);
        }
      }
      return 0;
    });
  },
};
