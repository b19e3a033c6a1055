import { diffTrees } from '../../container/diff';
import { ETC_FILES } from '../../container/etc-files';
import { parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { forEachContainer } from './container-store';

/** `noah diff`: files added (A), changed (C) and deleted (D) in a container's root. */
export const diffCommand: Command = {
  name: 'diff',
  usage: 'CONTAINER',
  summary: "List the changes to files in a container's root",
  options: [],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length !== 1) throw new UsageError('noah diff needs one container');
    return forEachContainer(
      parsed.positionals,
      io,
      async (store, name) => {
        const { config } = await store.get(name);
        const imageRoot = store.images.rootfsPath(config.chainId);
        const mountPoints = new Set([
          ...ETC_FILES.map((name) => `/etc/${name}`),
          ...config.mounts.map((mount) => mount.target),
        ]);
        for (const change of await diffTrees(imageRoot, store.rootfs(config), mountPoints)) {
          io.stdout.write(`${change.kind} ${change.path}\n`);
        }
      },
      false,
    );
  },
};
