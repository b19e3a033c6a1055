import * as fs from 'node:fs';
import { ContainerError } from '../../container/errors';
import { removeContainer } from '../../container/lifecycle';
import { optionFlag, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { forEachContainer } from './container-store';

/** `noah rm`: remove containers, their roots and their records. */
export const rmCommand: Command = {
  name: 'rm',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Remove one or more containers',
  options: [
    { name: 'force', short: 'f', help: 'kill and remove a running container' },
    {
      name: 'volumes',
      short: 'v',
      help:
        'accepted and ignored: noah has no anonymous volumes, and a tmpfs folder is removed ' +
        'with its container in any case',
    },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length === 0) throw new UsageError('noah rm needs a container');
    const force = optionFlag(parsed, 'force');
    return forEachContainer(parsed.positionals, io, async (store, name) => {
      const container = await store.find(name);
      if (container !== undefined) return removeContainer(store, container, force);
      // A full ID removes a folder whose records cannot be read, which no other command finds.
      if (/^[0-9a-f]{64}$/.test(name) && fs.existsSync(store.dir(name))) return store.remove(name);
      // Docker's rm -f of a missing container succeeds: the container is gone either way.
      if (force) return;
      throw new ContainerError(`No such container: ${name}`, 1);
    });
  },
};
