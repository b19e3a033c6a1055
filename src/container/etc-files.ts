import * as fsp from 'node:fs/promises';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { isErrno } from '../image/store';
import { TranslatorMount } from '../runtime/translator';
import { ContainerError } from './errors';

/** The guest files a container gets from its own folder, bind-mounted as Docker does. */
export const ETC_FILES = ['hosts', 'hostname', 'resolv.conf'] as const;

/**
 * Docker's fallback when the host has no usable resolv.conf: Google's public DNS servers
 * (moby's libnetwork/resolvconf defaults).
 */
const FALLBACK_RESOLV_CONF = 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n';

/** One --add-host entry: a host name and the address it maps to. */
export interface ExtraHost {
  name: string;
  address: string;
}

/**
 * Parses `--add-host NAME:IP` or `NAME=IP`, where IP may be in brackets. The IP "host-gateway"
 * is the host's address as the container reaches it, which is 127.0.0.1 here because the
 * container shares the host's network stack, loopback included.
 */
export function parseExtraHost(spec: string): ExtraHost {
  const separator = /[=:]/.exec(spec);
  const name = separator === null ? '' : spec.slice(0, separator.index);
  let address = separator === null ? '' : spec.slice(separator.index + 1);
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  if (address === 'host-gateway') address = '127.0.0.1';
  if (name === '' || /\s/.test(name) || isIP(address) === 0) {
    throw new ContainerError(`invalid --add-host "${spec}": use NAME:IP or NAME:host-gateway`);
  }
  return { name, address };
}

/**
 * Writes hosts, hostname and resolv.conf into the container folder `dir`. The container
 * shares the host's network, so resolv.conf is the host's and hosts maps the hostname to
 * 127.0.1.1, as Debian's installer does for a host without a fixed address. The --add-host
 * entries `extraHosts` follow, in order.
 */
export async function writeEtcFiles(
  dir: string,
  hostname: string,
  extraHosts: ExtraHost[] = [],
): Promise<void> {
  const hosts = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    `127.0.1.1\t${hostname}`,
    ...extraHosts.map((host) => `${host.address}\t${host.name}`),
    '',
  ].join('\n');
  await fsp.writeFile(path.join(dir, 'hosts'), hosts, { mode: 0o644 });
  await fsp.writeFile(path.join(dir, 'hostname'), `${hostname}\n`, { mode: 0o644 });
  await fsp.writeFile(path.join(dir, 'resolv.conf'), await hostResolvConf(), { mode: 0o644 });
}

async function hostResolvConf(): Promise<string> {
  try {
    const text = await fsp.readFile('/etc/resolv.conf', 'utf8');
    if (/^\s*nameserver\s/m.test(text)) return text;
  } catch (error) {
    if (!isErrno(error, 'ENOENT') && !isErrno(error, 'EACCES')) throw error;
  }
  return FALLBACK_RESOLV_CONF;
}

/** Bind mounts of the container's etc files, skipping a guest path the user mounts. */
export function etcMounts(dir: string, userTargets: Set<string>): TranslatorMount[] {
  return ETC_FILES.filter((name) => !userTargets.has(`/etc/${name}`)).map((name) => ({
    type: 'bind' as const,
    source: path.join(dir, name),
    target: `/etc/${name}`,
    readonly: false,
  }));
}
