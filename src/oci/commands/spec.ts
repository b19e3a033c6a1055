import * as fs from 'node:fs';
import * as path from 'node:path';

import { expectArgs, flagValue, parseFlags } from '../args';
import { Command } from '../context';
import { OciError } from '../errors';
import { ociVersion } from '../state';

/** Returns the config.json that `spec` writes: a shell in ./rootfs with the usual mounts. */
export function defaultSpec(): object {
  return {
    ociVersion,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'noah',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts' },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['ro'] },
    ],
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'network' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
      ],
    },
  };
}

export const spec: Command = {
  name: 'spec',
  summary: 'write a default config.json into the bundle folder',
  async run(_context, argv) {
    const parsed = parseFlags(argv, [
      { name: 'bundle', aliases: ['b'], value: true },
      { name: 'rootless' },
    ]);
    expectArgs('spec', parsed, 0);
    const file = path.join(flagValue(parsed, 'bundle') ?? '.', 'config.json');
    if (fs.existsSync(file)) throw new OciError(`File ${file} exists. Remove it first`);
    fs.writeFileSync(file, `${JSON.stringify(defaultSpec(), null, '\t')}\n`);
    return 0;
  },
};
