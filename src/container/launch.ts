import * as path from 'node:path';
import { TranslatorLaunch, TranslatorUser } from '../runtime/translator';
import { etcMounts } from './etc-files';
import { ContainerConfig, ContainerStore } from './store';

/** What `noah exec` changes for its process; the rest comes from the container. */
export interface ProcessOverrides {
  argv?: string[];
  env?: string[];
  cwd?: string;
  user?: TranslatorUser;
  tty?: boolean;
}

/**
 * Builds the translator launch of a process in container `config`: its root, mounts (the
 * user's and the etc files), hostname, user and environment.
 */
export function containerLaunch(
  store: ContainerStore,
  config: ContainerConfig,
  overrides: ProcessOverrides = {},
): TranslatorLaunch {
  const dir = store.dir(config.id);
  const user = overrides.user ?? config.resolvedUser;
  const launch: TranslatorLaunch = {
    rootfs: store.rootfs(config),
    argv: overrides.argv ?? config.argv,
    env: overrides.env ?? config.env,
    cwd: overrides.cwd ?? config.workingDir,
    trace: process.env.NOAH_TRACE === '1',
    readOnly: config.readOnly,
    tty: overrides.tty ?? config.tty,
  };
  launch.sharedInodes = path.join(dir, 'shared-inodes');
  // Docker sets TERM for a terminal unless the image or -e does.
  if (launch.tty === true && !launch.env.some((entry) => entry.startsWith('TERM='))) {
    launch.env = [...launch.env, 'TERM=xterm'];
  }
  const userTargets = new Set(config.mounts.map((m) => m.target));
  launch.mounts = [...etcMounts(dir, userTargets), ...config.mounts];
  launch.hostname = config.hostname;
  launch.user = user;
  launch.containerDir = path.join(dir, 'processes');
  launch.rlimits = config.ulimits;
  return launch;
}
