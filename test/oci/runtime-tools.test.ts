/**
 * The OCI runtime-tools validation suite (github.com/opencontainers/runtime-tools: its
 * validation/ programs and cmd/runtimetest) run against noah-oci, with one expectation list
 * that names the reason for each known failure. Debian's package of runtime-tools ships only
 * the library packages, not validation/, so the suite cannot be built from Debian packages
 * alone. Set NOAH_RUNTIME_TOOLS to a checkout where `make runtimetest validation-executables`
 * has run, and run as root. Commit 260e151, the last before the module needs Go 1.21, builds
 * offline with Debian's Go 1.19 from its vendor/ folder.
 * NOTE: runtimetest, which checks the process from inside the container, stops at its first
 * read of /proc/self/mountinfo until the translator synthesizes /proc, so the programs that
 * use it (hostname here) pass on their first checks only.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { asanTranslator } from '../helpers/cli';
import { nooci } from './helpers';

const suite = process.env.NOAH_RUNTIME_TOOLS;
const usable =
  suite !== undefined && process.getuid?.() === 0 && fs.existsSync(path.join(suite, 'runtimetest'));
const describeSuite = usable ? describe : describe.skip;

/** Validation programs whose every TAP line is "ok" under noah-oci. */
const passing = [
  'config_updates_without_affect',
  'create',
  'delete_only_create_resources',
  'hooks_stdin',
  'hostname',
  'kill',
  'kill_no_effect',
  'killsig',
  'linux_ns_itype',
  'state',
];

/** Validation programs with a failing line, and why. */
const failing: Record<string, string> = {
  delete:
    'delete of a created container kills and removes it, as runc does and clients expect, ' +
    'where the specification asks for an error; runc fails the same two lines',
  delete_resources: 'no cgroups: the pids cgroup of the container does not exist',
  linux_cgroups_cpus: 'no cgroups: resources are accepted and not applied',
  linux_cgroups_memory: 'no cgroups: resources are accepted and not applied',
  linux_cgroups_pids: 'no cgroups: resources are accepted and not applied',
  linux_ns_nopath: 'no namespaces: the container process shares the host namespaces',
  linux_ns_path: 'no namespaces: a namespace path is not joined',
  linux_ns_path_type: 'no namespaces: a namespace path is not joined',
  pidfile:
    'the test kills a container whose `true` has already exited, which is "container not ' +
    'running"; runc fails the same',
  start:
    'the harness starts a container twice and expects one error line more; runc fails the same',
};

/** Runs one validation program with noah-oci as the runtime and returns its TAP output. */
function runValidation(name: string): string {
  const result = spawnSync(path.join('validation', name, `${name}.t`), {
    cwd: suite,
    encoding: 'utf8',
    env: { ...process.env, RUNTIME: nooci, NOAH_TRANSLATOR: asanTranslator() },
    timeout: 120_000,
  });
  return `${result.stdout}${result.stderr}`;
}

describeSuite('runtime-tools validation', () => {
  test.each(passing)('%s passes', (name) => {
    const output = runValidation(name);
    expect(output).toMatch(/^ok /m);
    expect(output).not.toMatch(/^not ok /m);
  });

  test.each(Object.entries(failing))('%s fails: %s', (name) => {
    expect(runValidation(name)).toMatch(/^not ok /m);
  });
});
