/**
 * config.json mounts mapped onto the translator's mount table (`--mount
 * type=bind|tmpfs,source=HOST,target=GUEST[,readonly]`). The kernel file systems (proc, sysfs,
 * devpts, mqueue, cgroup) and the tmpfs on /dev are synthesized by the translator itself, so
 * those entries are accepted and logged, not mounted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Mount } from './config';
import { OciError } from './errors';
import { Logger } from './log';

const synthesizedTypes = new Set(['proc', 'sysfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2']);

function isBind(mount: Mount): boolean {
  const options = mount.options ?? [];
  return mount.type === 'bind' || options.includes('bind') || options.includes('rbind');
}

/** Returns the mode of a tmpfs from its `mode=` option, 0o755 by default as mount(8) has it. */
function tmpfsMode(options: string[]): number {
  const option = options.find((entry) => entry.startsWith('mode='));
  const mode = option === undefined ? NaN : parseInt(option.slice(5), 8);
  return Number.isNaN(mode) ? 0o755 : mode & 0o7777;
}

function checkPathForFlag(value: string, field: string): void {
  if (value.includes(',')) {
    throw new OciError(`${field} ${value}: a path with "," cannot be passed to the translator`);
  }
}

/**
 * Returns the translator's --mount values for `mounts`. Each tmpfs gets an empty host folder
 * under `tmpfsRoot`, private to the container, which `delete` removes with the state.
 * NOTE: such a tmpfs lives on the host file system of --root, so its size= option is not
 * enforced.
 */
export function translatorMounts(
  mounts: Mount[],
  bundle: string,
  tmpfsRoot: string,
  logger: Logger,
): string[] {
  const values: string[] = [];
  mounts.forEach((mount, index) => {
    const field = `mounts[${index}]`;
    const target = path.posix.normalize(mount.destination);
    const options = mount.options ?? [];
    checkPathForFlag(target, `${field}.destination`);
    const readonly = options.includes('ro') ? ',readonly' : '';
    if (isBind(mount)) {
      if (mount.source === undefined) throw new OciError(`${field}.source is missing for a bind`);
      const source = path.resolve(bundle, mount.source);
      checkPathForFlag(source, `${field}.source`);
      if (!fs.existsSync(source)) throw new OciError(`${field}.source ${source} does not exist`);
      values.push(`type=bind,source=${source},target=${target}${readonly}`);
      return;
    }
    if (synthesizedTypes.has(mount.type ?? '') || (mount.type === 'tmpfs' && target === '/dev')) {
      logger.debug(`${field}: ${mount.type} on ${target} is synthesized by the translator`);
      return;
    }
    if (mount.type === 'tmpfs') {
      const source = path.join(tmpfsRoot, String(index));
      fs.mkdirSync(source, { recursive: true });
      fs.chmodSync(source, tmpfsMode(options));
      values.push(`type=tmpfs,source=${source},target=${target}${readonly}`);
      return;
    }
    throw new OciError(
      `${field}.type "${mount.type ?? ''}" on ${target} is not supported: ` +
        'noah-oci mounts bind, tmpfs, proc, sysfs, devpts, mqueue and cgroup',
    );
  });
  return values;
}
