/**
 * The tools that run the workloads: a native chroot (the limit), the OCI runtimes crun, runc
 * and runsc (gVisor, once per platform), proot and noah. Each turns a workload into a command
 * line over the same root folder.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { translatorPath } from '../native';
import { repoRoot } from './roots';
import { Invocation, describeFailure, runTimed } from './process';
import { Workload } from './workloads';

/** The environment every workload gets, whatever the tool. */
export const guestEnv = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'LC_ALL=C',
  'HOME=/root',
];

/** One tool under test. */
export interface Tool {
  name: string;
  /** The Debian package that provides it, for the install hint. */
  debianPackage: string;
  /** A fact about how the tool is run here that a reader of the table needs. */
  note?: string;
  /** Returns the tool's version line, or throws when it is not installed. */
  version(): string;
  /** Returns the command line that runs `workload` inside `root`. */
  invocation(workload: Workload, root: string): Invocation;
}

function firstLine(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`${command} not found`);
  return `${result.stdout}${result.stderr}`.trim().split('\n')[0];
}

function nativeChroot(): Tool {
  return {
    name: 'native',
    debianPackage: 'coreutils',
    note:
      'chroot in a private mount namespace with the host /dev bound and a fresh /proc, ' +
      'started by unshare; that start-up is part of every time',
    version: () => firstLine('chroot', ['--version']),
    invocation: (workload, root) => ({
      command: 'unshare',
      args: [
        '--mount',
        '/bin/sh',
        '-c',
        'mount --rbind /dev "$0/dev" && mount -t proc proc "$0/proc" && exec chroot "$0" env -i "$@"',
        root,
        ...guestEnv,
        ...workload.argv,
      ],
    }),
  };
}

function proot(): Tool {
  return {
    name: 'proot',
    debianPackage: 'proot',
    note: 'proot -r ROOT with the host /dev and /proc bound (-b)',
    version: () => {
      const output = spawnSync('proot', ['--version'], { encoding: 'utf8' });
      if (output.error !== undefined) throw new Error('proot not found');
      const version = /(\d+\.\d+\.\d+)\s*$/m.exec(output.stdout);
      const accelerators = /built-in accelerators: (.*)$/m.exec(output.stdout);
      return [
        version === null ? 'proot' : `proot ${version[1]}`,
        accelerators === null ? '' : ` (${accelerators[1]})`,
      ].join('');
    },
    invocation: (workload, root) => ({
      command: 'proot',
      args: [
        '-r',
        root,
        '-b',
        '/dev',
        '-b',
        '/proc',
        '-w',
        '/',
        '/usr/bin/env',
        '-i',
        ...guestEnv,
        ...workload.argv,
      ],
    }),
  };
}

/**
 * noah runs a copy of the translator taken when the bench starts, so a rebuild of build/Release
 * during the run (other work on the same checkout) cannot change or remove it mid-run.
 */
function noah(copyFolder: string): Tool {
  const translator = path.join(copyFolder, 'noah-translator');
  return {
    name: 'noah',
    debianPackage: '',
    version: () => {
      const built = translatorPath();
      if (!fs.existsSync(built)) {
        throw new Error(`${built} not found: run "npm install" to build it`);
      }
      fs.mkdirSync(copyFolder, { recursive: true });
      fs.copyFileSync(built, translator);
      fs.chmodSync(translator, 0o755);
      const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
        cwd: path.dirname(built),
        encoding: 'utf8',
      });
      const head = commit.status === 0 ? `; repository HEAD then ${commit.stdout.trim()}` : '';
      return `noah-translator (copy of ${built} taken at the start${head})`;
    },
    invocation: (workload, root) => ({
      command: translator,
      args: [
        '--root',
        root,
        ...guestEnv.flatMap((entry) => ['--env', entry]),
        '--',
        ...workload.argv,
      ],
    }),
  };
}

/** The OCI runtime spec fields that the bundles set; the rest comes from `runc spec`. */
interface RuntimeSpec {
  process: { terminal: boolean; args: string[]; env: string[]; cwd: string };
  root: { path: string; readonly: boolean };
  hostname?: string;
  [field: string]: unknown;
}

/**
 * Writes OCI bundles (a folder with config.json) over the bench roots. The template is the
 * default spec of `runc spec` (or `crun spec`) with no terminal. The root is writable because
 * it is an overlay whose upper folder the bench discards, so the fixture is never changed.
 */
export class Bundles {
  private template: RuntimeSpec | undefined;
  private written = new Set<string>();

  constructor(private readonly folder: string) {}

  private loadTemplate(): RuntimeSpec {
    if (this.template !== undefined) return this.template;
    const scratch = path.join(this.folder, 'template');
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.mkdirSync(scratch, { recursive: true });
    const errors: string[] = [];
    for (const generator of ['runc', 'crun']) {
      const result = spawnSync(generator, ['spec'], { cwd: scratch, encoding: 'utf8' });
      if (result.status === 0) {
        this.template = JSON.parse(
          fs.readFileSync(path.join(scratch, 'config.json'), 'utf8'),
        ) as RuntimeSpec;
        return this.template;
      }
      errors.push(`${generator} spec: ${result.error?.message ?? result.stderr.trim()}`);
    }
    throw new Error(`no OCI spec template: ${errors.join('; ')}`);
  }

  /** Returns the bundle folder for `workload` over `root`, writing it on first use. */
  bundleFor(workload: Workload, root: string): string {
    const bundle = path.join(this.folder, workload.id);
    if (this.written.has(bundle)) return bundle;
    const spec: RuntimeSpec = structuredClone(this.loadTemplate());
    spec.process = {
      ...spec.process,
      terminal: false,
      args: workload.argv,
      env: guestEnv,
      cwd: '/',
    };
    spec.root = { path: root, readonly: false };
    spec.hostname = 'noah-bench';
    fs.mkdirSync(bundle, { recursive: true });
    fs.writeFileSync(path.join(bundle, 'config.json'), `${JSON.stringify(spec, null, 2)}\n`);
    this.written.add(bundle);
    return bundle;
  }
}

let containerCount = 0;

function containerId(tool: string): string {
  containerCount += 1;
  return `noah-bench-${tool}-${process.pid}-${containerCount}`;
}

/** Runs `command` quietly and ignores its result: cleanup after a killed container. */
function quietly(command: string, args: string[]): void {
  spawnSync(command, args, { stdio: 'ignore', timeout: 30000 });
}

function runc(bundles: Bundles, stateFolder: string): Tool {
  const state = path.join(stateFolder, 'runc');
  return {
    name: 'runc',
    debianPackage: 'runc',
    version: () => firstLine('runc', ['--version']),
    invocation: (workload, root) => {
      const id = containerId('runc');
      return {
        command: 'runc',
        args: ['--root', state, 'run', '--bundle', bundles.bundleFor(workload, root), id],
        cleanup: () => quietly('runc', ['--root', state, 'delete', '--force', id]),
      };
    },
  };
}

/**
 * crun 1.8.1 rejects a cgroup v1/v2 hybrid layout whose v2 hierarchy has a controller
 * ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"). When the host
 * has one, crun runs in a private mount namespace where /sys/fs/cgroup/unified is unmounted,
 * so that it finds only cgroup v1. The host's mounts are not changed.
 */
function crun(bundles: Bundles, stateFolder: string): Tool {
  const state = path.join(stateFolder, 'crun');
  const unified = '/sys/fs/cgroup/unified/cgroup.controllers';
  const hybridWithControllers =
    fs.existsSync(unified) && fs.readFileSync(unified, 'utf8').trim() !== '';
  return {
    name: 'crun',
    debianPackage: 'crun',
    note: hybridWithControllers
      ? 'run in a private mount namespace without /sys/fs/cgroup/unified, because crun 1.8.1 ' +
        'rejects this host cgroup v1/v2 hybrid layout (cgroups in hybrid mode not supported)'
      : undefined,
    version: () => firstLine('crun', ['--version']),
    invocation: (workload, root) => {
      const id = containerId('crun');
      const run = ['--root', state, 'run', '--bundle', bundles.bundleFor(workload, root), id];
      const cleanup = () => quietly('crun', ['--root', state, 'delete', '--force', id]);
      if (!hybridWithControllers) return { command: 'crun', args: run, cleanup };
      return {
        command: 'unshare',
        args: [
          '--mount',
          '/bin/sh',
          '-c',
          'umount /sys/fs/cgroup/unified && exec crun "$@"',
          'crun',
          ...run,
        ],
        cleanup,
      };
    },
  };
}

function runsc(bundles: Bundles, stateFolder: string, platform: string): Tool {
  const state = path.join(stateFolder, `runsc-${platform}`);
  return {
    name: `runsc-${platform}`,
    debianPackage: 'runsc',
    note: `gVisor with --platform=${platform} --network=none`,
    version: () => firstLine('runsc', ['--version']),
    invocation: (workload, root) => {
      const id = containerId(`runsc-${platform}`);
      const global = ['--root', state, `--platform=${platform}`, '--network=none'];
      return {
        command: 'runsc',
        args: [...global, 'run', '--bundle', bundles.bundleFor(workload, root), id],
        cleanup: () => quietly('runsc', ['--root', state, 'delete', '--force', id]),
      };
    },
  };
}

/**
 * noah's OCI runtime, called as runc is: `noah-oci run --bundle B ID` over the same bundles, so
 * its row includes Node.js start-up and the create, start and delete steps.
 */
function noahOci(bundles: Bundles, stateFolder: string): Tool {
  const state = path.join(stateFolder, 'noah-oci');
  const command = path.join(repoRoot, 'bin', 'noah-oci');
  return {
    name: 'noah-oci',
    debianPackage: '',
    note: 'bin/noah-oci run --bundle, as runc is called (Node.js start-up included)',
    version: () => firstLine(command, ['--version']),
    invocation: (workload, root) => {
      const id = containerId('noah-oci');
      return {
        command,
        args: ['--root', state, 'run', '--bundle', bundles.bundleFor(workload, root), id],
        cleanup: () => quietly(command, ['--root', state, 'delete', '--force', id]),
      };
    },
  };
}

/**
 * `noah run --rm IMAGE COMMAND` with the bench root imported as an image into a store of the
 * bench's own: the row includes Node.js start-up, taking the container's root (a spare that
 * the previous run cloned in the background, except on the first run) and the run. The
 * clone of the next spare and the deletion of the container happen after noah exits, untimed.
 */
function noahRun(homeFolder: string): Tool {
  const command = path.join(repoRoot, 'bin', 'noah');
  const images = new Map<string, string>();
  const env = { NOAH_HOME: homeFolder };
  const imageFor = (root: string): string => {
    const known = images.get(root);
    if (known !== undefined) return known;
    const name = `noah-bench-${images.size}:latest`;
    const tar = spawnSync('tar', ['-C', root, '-cf', '-', '.'], { maxBuffer: 1 << 30 });
    if (tar.status !== 0) throw new Error(`tar of ${root} failed: ${tar.stderr.toString()}`);
    const imported = spawnSync(command, ['import', '-', name], {
      input: tar.stdout,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    if (imported.status !== 0) throw new Error(`noah import failed: ${imported.stderr.trim()}`);
    images.set(root, name);
    return name;
  };
  return {
    name: 'noah-run',
    debianPackage: '',
    note: 'bin/noah run --rm over the root imported as an image (Node.js start-up included; the root is a spare cloned after the previous run, untimed)',
    version: () => firstLine(command, ['--version']),
    invocation: (workload, root) => ({
      command,
      args: ['run', '--rm', '--pull', 'never', imageFor(root), ...workload.argv],
      env,
      settle: () => backgroundWorkDone(path.join(homeFolder, 'tmp')),
    }),
  };
}

/**
 * Waits until the store's tmp/ is empty: `noah run` leaves the next spare root being cloned and
 * the container's files being deleted, which would otherwise slow the next measured run.
 */
async function backgroundWorkDone(tmp: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (fs.readdirSync(tmp).length > 0) {
    if (Date.now() > deadline) throw new Error(`background work in ${tmp} did not end in 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Returns every tool, native first, with one runsc entry for each gVisor platform. */
export function allTools(bundleFolder: string, stateFolder: string, copyFolder: string): Tool[] {
  const bundles = new Bundles(bundleFolder);
  return [
    nativeChroot(),
    crun(bundles, stateFolder),
    runc(bundles, stateFolder),
    runsc(bundles, stateFolder, 'systrap'),
    runsc(bundles, stateFolder, 'ptrace'),
    runsc(bundles, stateFolder, 'kvm'),
    proot(),
    noah(copyFolder),
    noahOci(bundles, stateFolder),
    noahRun(path.join(stateFolder, 'noah-home')),
  ];
}

/** A tool with the outcome of its start-up check. */
export interface CheckedTool {
  tool: Tool;
  version: string;
  /** The reason the tool cannot run workloads here; undefined when it can. */
  error?: string;
}

/**
 * Checks that a tool is installed and can run `/bin/true` in the root within `timeoutSeconds`.
 * A tool that fails to start, or hangs as gVisor's KVM platform does on PVM, is then reported
 * once instead of on every row.
 */
export async function checkTool(
  tool: Tool,
  probe: Workload,
  root: string,
  timeoutSeconds: number,
): Promise<CheckedTool> {
  let version: string;
  try {
    version = tool.version();
  } catch (error) {
    const hint = tool.debianPackage === '' ? '' : ` (apt-get install -y ${tool.debianPackage})`;
    return { tool, version: '', error: `not installed${hint}: ${(error as Error).message}` };
  }
  try {
    const result = await runTimed(tool.invocation(probe, root), timeoutSeconds);
    if (result.status === 0) return { tool, version };
    return { tool, version, error: describeFailure(result, timeoutSeconds) };
  } catch (error) {
    return { tool, version, error: (error as Error).message };
  }
}
