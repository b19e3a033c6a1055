import { expectArgs, parseFlags } from '../args';
import { hookNames } from '../config';
import { Command } from '../context';
import { ociVersion } from '../state';

/**
 * Returns what noah-oci applies, in the runtime specification's features format. The Linux
 * isolation features are listed as absent, since a translator process gets none of them: the
 * container's isolation is the translator's own (a root it cannot leave, emulated ids).
 */
export function features(): object {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: ociVersion,
    hooks: hookNames,
    mountOptions: ['bind', 'rbind', 'ro', 'rw', 'mode'],
    linux: {
      namespaces: [],
      capabilities: [],
      cgroup: { v1: false, v2: false, systemd: false, systemdUser: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: {
      'org.noah.oci.mount.types': 'bind,tmpfs; proc,sysfs,devpts,mqueue,cgroup synthesized',
      'org.noah.oci.accepted.not.applied':
        'linux.namespaces,linux.resources,linux.cgroupsPath,linux.seccomp,linux.devices,' +
        'linux.maskedPaths,linux.readonlyPaths,linux.sysctl,process.capabilities,' +
        'process.apparmorProfile,process.selinuxLabel,process.oomScoreAdj,process.user.umask',
    },
  };
}

export const featuresCommand: Command = {
  name: 'features',
  summary: 'print the supported features of the runtime specification as JSON',
  async run(_context, argv) {
    expectArgs('features', parseFlags(argv, []), 0);
    process.stdout.write(`${JSON.stringify(features(), null, 4)}\n`);
    return 0;
  },
};
