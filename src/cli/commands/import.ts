import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { importRootfs } from '../../image/archive';
import { parseArgs } from '../args';
import { Command } from '../command';
import { CliError, UsageError } from '../errors';
import { openHomeStore, withImageErrors } from './image-errors';

/** `noah import`: a root filesystem tar as a one-layer image, as `docker import` makes. */
export const importCommand: Command = {
  name: 'import',
  usage: 'ROOTFS.tar|- [NAME[:TAG]]',
  summary: 'Create an image from a root filesystem tar (plain, gzip or zstd; - for standard input)',
  options: [],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    const [file, name, ...extra] = parsed.positionals;
    if (file === undefined || extra.length > 0) {
      throw new UsageError(
        'noah import needs ROOTFS.tar (or - for standard input) and an optional NAME[:TAG]',
      );
    }
    if (file !== '-' && !fs.existsSync(file)) throw new CliError(`${file}: no such file`);
    if (file !== '-' && fs.statSync(file).isDirectory()) {
      throw new CliError(`${file}: is a directory, not a tar file`);
    }
    return withImageErrors(async () => {
      const store = await openHomeStore();
      const source = file === '-' ? (process.stdin as Readable) : file;
      const label = file === '-' ? 'standard input' : file;
      const record = await importRootfs(store, source, name, label);
      io.stdout.write(`${record.id}\n`);
      return 0;
    });
  },
};
