/**
 * C conformance programs, compiled with the host's gcc both static and dynamic, that check what
 * comparing outputs cannot: the auxiliary vector, memory semantics and faults, EFAULT for bad
 * pointers, escapes from the root, descriptors and directories.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

import * as path from 'node:path';

import { fixtureRootfs } from '../fixtures/images';
import { asanTranslator } from '../helpers/cli';
import { describeKvm } from '../helpers/kvm';
import { OverlayRoot, canCompareNatively, defaultEnv, runNative, runTranslated } from './harness';

const programs = [
  'auxv',
  'memory',
  'efault',
  'escape',
  'files',
  'fuzz',
  'signals',
  'threads',
  'robust',
  'spawn',
  'execthreads',
];
const linkings = ['static', 'dynamic'] as const;
const installDir = '/opt/noah-tests';

let overlay: OverlayRoot;

beforeAll(async () => {
  overlay = new OverlayRoot(await fixtureRootfs('debian'));
  const target = path.join(overlay.merged, installDir);
  fs.mkdirSync(target, { recursive: true });
  for (const name of programs) {
    for (const linking of linkings) {
      const source = path.join(__dirname, 'programs', `${name}.c`);
      const output = path.join(target, `${name}-${linking}`);
      const flags = linking === 'static' ? ['-static'] : [];
      const compiled = spawnSync('gcc', [
        '-O1',
        '-Wall',
        '-pthread',
        ...flags,
        '-o',
        output,
        source,
      ]);
      if (compiled.status !== 0) throw new Error(`gcc ${source}: ${compiled.stderr.toString()}`);
    }
  }
}, 600000);

afterAll(() => overlay?.remove());

const program = (name: string, linking: string) => `${installDir}/${name}-${linking}`;

const describeRoot = canCompareNatively() ? describeKvm : describe.skip;

for (const linking of linkings) {
  describeRoot(`conformance programs (${linking})`, () => {
    test('auxv matches native', () => {
      const argv = [program('auxv', linking)];
      const native = runNative(overlay.merged, argv);
      const translated = runTranslated(overlay.merged, argv);
      expect(native.status).toBe(0);
      expect(translated.stdout).toBe(native.stdout);
      expect(translated.stdout).toContain('AT_RANDOM_nonzero 1\n');
      expect(translated.stdout).toContain('AT_PLATFORM x86_64\n');
      expect(translated.stdout).toContain(`AT_EXECFN ${argv[0]}\n`);
      expect(translated.status).toBe(0);
    });

    test('memory calls behave as on Linux', () => {
      const translated = runTranslated(overlay.merged, [program('memory', linking)]);
      expect(translated.stdout).toBe('ok\n');
      expect(translated.status).toBe(0);
    });

    test.each([
      ['write-readonly', 'SIGSEGV'],
      ['read-unmapped', 'SIGSEGV'],
      ['read-prot-none', 'SIGSEGV'],
      ['execute-data', 'SIGSEGV'],
      ['null', 'SIGSEGV'],
      ['invalid-opcode', 'SIGILL'],
      ['divide-by-zero', 'SIGFPE'],
      ['breakpoint', 'SIGTRAP'],
      ['privileged', 'SIGSEGV'],
    ])('fault %s ends with %s as natively', (fault, signal) => {
      const argv = [program('memory', linking), fault];
      const native = runNative(overlay.merged, argv);
      const translated = runTranslated(overlay.merged, argv);
      expect(native.signal).toBe(signal);
      expect(translated.stdout).toBe('');
      expect(translated.signal).toBe(signal);
    });

    test('an I/O instruction of the program gives SIGSEGV', () => {
      const translated = runTranslated(overlay.merged, [program('memory', linking), 'port-io']);
      expect(translated.stderr).toBe('');
      expect(translated.signal).toBe('SIGSEGV');
    });

    test('a jump into the syscall stub acts as a system call at most', () => {
      // The stub page is mapped for the program to run; entering it by a jump makes a system
      // call with whatever registers the program had, which ends the program, not the host.
      const translated = runTranslated(overlay.merged, [program('memory', linking), 'stub-jump']);
      expect(translated.stderr).not.toMatch(/Sanitizer|runtime error/);
      expect(translated.signal).toBe('SIGSEGV');
    });

    test('bad pointers give EFAULT, translator memory included', async () => {
      const translated = await runWithTranslatorAddress(overlay.merged, program('efault', linking));
      expect(translated.stdout).toContain('host read EFAULT\n');
      expect(translated.stdout).toContain('host write EFAULT\n');
      expect(translated.stdout).toContain('host stat-buffer EFAULT\n');
      expect(translated.stdout).toContain('null read EFAULT\n');
      expect(translated.stdout).toContain('failures 0\n');
      expect(translated.status).toBe(0);
      expect(translated.holdsKvmVm).toBe(true);
      expect(translated.exe).toBe(fs.realpathSync(asanTranslator()));
    });

    test('paths cannot leave the root', () => {
      const marker = `noah-escape-${process.pid}-${linking}`;
      const outside = path.join('/tmp', marker);
      fs.writeFileSync(outside, 'outside\n');
      fs.writeFileSync(path.join(overlay.merged, 'tmp', marker), 'inside\n');
      const scratch = `/tmp/escape-${linking}`;
      fs.mkdirSync(path.join(overlay.merged, scratch));
      try {
        const translated = runTranslated(overlay.merged, [
          program('escape', linking),
          scratch,
          marker,
        ]);
        const lines = translated.stdout.trim().split('\n');
        expect(lines).toEqual([
          'dotdot: inside',
          'root-dotdot: inside',
          'absolute-symlink: inside',
          'relative-symlink: inside',
          'symlink-to-marker: inside',
          'dirfd-dotdot: inside',
          'getcwd: /',
          'after-chdir: inside',
          'create-through-symlink: created',
        ]);
        expect(fs.existsSync(`${outside}-created`)).toBe(false);
        expect(fs.existsSync(path.join(overlay.merged, 'tmp', `${marker}-created`))).toBe(true);
        expect(fs.readFileSync(outside, 'utf8')).toBe('outside\n');
      } finally {
        fs.rmSync(outside, { force: true });
        fs.rmSync(`${outside}-created`, { force: true });
      }
    });

    test('descriptors, directories and statx', () => {
      const translated = runTranslated(overlay.merged, [
        program('files', linking),
        `/tmp/files-${linking}`,
      ]);
      expect(translated.stdout).toBe('entries 3000 sum 4498500\nok\n');
      expect(translated.status).toBe(0);
    });

    test('signals are delivered as on Linux', () => {
      const argv = [program('signals', linking)];
      const native = runNative(overlay.merged, argv);
      const translated = runTranslated(overlay.merged, argv, { timeoutMs: 60000 });
      const checks = ['siginfo', 'restart', 'eintr', 'altstack', 'fpu', 'sigsuspend', 'timers'];
      const expected = [...checks, 'sigsegv', 'pselect', 'waitid']
        .map((name) => `${name} ok\n`)
        .join('');
      expect(native.stdout).toBe(expected);
      expect(translated.stdout).toBe(expected);
      expect(translated.status).toBe(0);
    });

    test('threads share a futex mutex and condition variable', () => {
      for (let run = 0; run < 5; run++) {
        const translated = runTranslated(overlay.merged, [
          program('threads', linking),
          '8',
          '5000',
        ]);
        expect(translated.stdout).toBe('counter 40000 expected 40000\nfork ok\n');
        expect(translated.status).toBe(0);
      }
    });

    test('posix_spawn reports a missing program to its caller', () => {
      const argv = [program('spawn', linking)];
      const native = runNative(overlay.merged, argv);
      const translated = runTranslated(overlay.merged, argv);
      const expected = 'missing: No such file or directory\ntrue: success status 0\n';
      expect(native.stdout).toBe(expected);
      expect(translated.stdout).toBe(expected);
    });

    test('execve ends the other threads', () => {
      const translated = runTranslated(overlay.merged, [program('execthreads', linking)], {
        timeoutMs: 30000,
      });
      expect(translated.stdout).toBe("exec'd with arg\n");
      expect(translated.status).toBe(0);
    });

    test('a robust mutex reports its owner death', () => {
      const translated = runTranslated(overlay.merged, [program('robust', linking)]);
      expect(translated.stdout).toBe('lock after owner death: EOWNERDEAD\n');
      expect(translated.status).toBe(0);
    });

    test('random system calls never crash the translator', () => {
      for (const seed of ['1', '2', '3']) {
        const translated = runTranslated(overlay.merged, [program('fuzz', linking), seed, '3000'], {
          cwd: '/tmp',
          timeoutMs: 120000,
        });
        expect(translated.stderr).not.toMatch(
          /AddressSanitizer|UndefinedBehaviorSanitizer|runtime error/,
        );
        expect(translated.stdout).toMatch(/^made \d+ calls, \d+ returned an error\n$/);
        expect(translated.status).toBe(0);
      }
    });
  });
}

interface ObservedRun {
  stdout: string;
  status: number | null;
  holdsKvmVm: boolean;
  exe: string;
}

/**
 * Starts `argv0` under the translator, reads the translator's own memory map while the program
 * waits on stdin, and sends it the address of a writable translator mapping. Also records
 * whether the process holds a KVM VM descriptor and what its executable is: the proof that the
 * program runs in a guest and was never exec'd on the host.
 */
function runWithTranslatorAddress(root: string, argv0: string): Promise<ObservedRun> {
  const args = ['--root', root];
  for (const entry of defaultEnv) args.push('--env', entry);
  args.push('--', argv0);
  const child = spawn(asanTranslator(), args, {
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' },
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 20000;
    const poll = () => {
      const fdDir = `/proc/${child.pid}/fd`;
      let links: string[] = [];
      try {
        links = fs.readdirSync(fdDir).map((fd) => fs.readlinkSync(path.join(fdDir, fd)));
      } catch {
        // The process may not exist yet.
      }
      if (!links.includes('anon_inode:kvm-vm')) {
        if (Date.now() > deadline) reject(new Error('translator never opened a KVM VM'));
        else setTimeout(poll, 20);
        return;
      }
      const exe = fs.readlinkSync(`/proc/${child.pid}/exe`);
      const maps = fs.readFileSync(`/proc/${child.pid}/maps`, 'utf8').split('\n');
      // A writable mapping of the translator binary itself: its own data.
      const own = maps.find((line) => line.includes('noah-translator') && line.includes('rw-p'));
      const address = own ? own.split('-')[0] : '';
      if (address === '') reject(new Error(`no writable translator mapping in ${maps.join('\n')}`));
      child.stdin.end(`${address}\n`);
      child.on('exit', (status) => resolve({ stdout, status, holdsKvmVm: true, exe }));
    };
    poll();
  });
}
