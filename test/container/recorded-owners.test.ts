/**
 * Owners of an image imported by a host user who is not root. The unpacker cannot chown, so
 * it records the layers' owners in metadata.json, and cloneTree writes them into the
 * user.noah.owner attribute that the translator presents. Runs as the host user noah-test,
 * which .ci/run creates and lets open /dev/kvm.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { fixtureRootfs } from '../fixtures/images';
import { asanTranslator, repoRoot } from '../helpers/cli';
import { describeKvm } from '../helpers/kvm';

const testUser = 'noah-test';

/** Why the tests cannot run as noah-test, or undefined when they can. */
function nonRootUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'the tests must start as root to switch to noah-test';
  const check = spawnSync('runuser', ['-u', testUser, '--', 'test', '-w', '/dev/kvm']);
  if (check.status === 0) return undefined;
  const reason = `host user ${testUser} is missing or cannot open /dev/kvm (.ci/run sets it up)`;
  if (process.env.NOAH_REQUIRE_KVM === '1')
    throw new Error(`${reason}; NOAH_REQUIRE_KVM=1 requires it`);
  return reason;
}

const nonRootReason = nonRootUnavailableReason();
const describeNonRoot = nonRootReason === undefined ? describeKvm : describe.skip;

describeNonRoot(
  `recorded owners on a non-root host${nonRootReason ? ` (skipped: ${nonRootReason})` : ''}`,
  () => {
    let scratch: string;
    let home: string;
    let translator: string;

    /** Runs `bin/noah ARGS` as noah-test against a NOAH_HOME of its own. */
    function noahAsTestUser(args: string[]) {
      const result = spawnSync(
        'runuser',
        [
          '-u',
          testUser,
          '--',
          'env',
          `NOAH_HOME=${home}`,
          `NOAH_TRANSLATOR=${translator}`,
          'NOAH_SPARE_ROOTS=0',
          'ASAN_OPTIONS=detect_leaks=0',
          path.join(repoRoot, 'bin', 'noah'),
          ...args,
        ],
        { encoding: 'utf8', timeout: 300000, maxBuffer: 64 * 1024 * 1024 },
      );
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    }

    beforeAll(async () => {
      const image = await fixtureRootfs('debian');
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-recorded-owners-'));
      fs.chmodSync(scratch, 0o755);
      const uid = Number(spawnSync('id', ['-u', testUser]).stdout.toString());
      const gid = Number(spawnSync('id', ['-g', testUser]).stdout.toString());
      home = path.join(scratch, 'home');
      fs.mkdirSync(home);
      fs.chownSync(home, uid, gid);
      translator = path.join(scratch, 'noah-translator');
      fs.copyFileSync(asanTranslator(), translator);
      fs.chmodSync(translator, 0o755);
      // The fixture root was extracted by root, so a tar of it keeps the layer's owners.
      const tarFile = path.join(scratch, 'rootfs.tar');
      const packed = spawnSync('tar', ['--numeric-owner', '-C', image, '-cf', tarFile, '.']);
      if (packed.status !== 0) throw new Error(`tar failed: ${packed.stderr.toString()}`);
      // A read-only file of another group, which copy-up must give its owner attribute.
      fs.writeFileSync(path.join(scratch, 'readonly'), 'read-only\n');
      const appended = spawnSync('tar', [
        '--numeric-owner',
        '--owner=0',
        '--group=8',
        '--mode=0444',
        '--transform=s,^readonly$,./usr/local/share/readonly,',
        '-C',
        scratch,
        '-rf',
        tarFile,
        'readonly',
      ]);
      if (appended.status !== 0) throw new Error(`tar failed: ${appended.stderr.toString()}`);
      fs.chmodSync(tarFile, 0o644);
      const imported = noahAsTestUser(['import', tarFile, 'owners:latest']);
      if (imported.status !== 0) throw new Error(`noah import failed: ${imported.stderr}`);
    }, 600000);

    afterAll(() => {
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    });

    test('container shows the layer owners', () => {
      const paths = [
        '/etc/shadow',
        '/usr/bin/chage',
        '/var/mail',
        '/var/cache/apt/archives/partial',
        '/etc/passwd',
      ];
      const result = noahAsTestUser(['run', '--rm', 'owners', 'stat', '-c', '%U %G', ...paths]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('root shadow\nroot shadow\nroot mail\n_apt root\nroot root\n');
      expect(result.status).toBe(0);
    });

    test('setgid binary keeps its mode', () => {
      const result = noahAsTestUser([
        'run',
        '--rm',
        'owners',
        'stat',
        '-c',
        '%a',
        '/usr/bin/chage',
      ]);
      expect(result.stdout).toBe('2755\n');
    });

    test('copy-up keeps the recorded owner', () => {
      const script = [
        'chmod 0440 /usr/local/share/readonly /etc/gshadow',
        'echo extra >> /etc/shadow',
        'stat -c "%U %G %a" /usr/local/share/readonly /etc/gshadow /etc/shadow',
      ].join(' && ');
      const result = noahAsTestUser(['run', '--rm', 'owners', 'sh', '-c', script]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('root mail 440\nroot shadow 440\nroot shadow 640\n');
    });

    test('guest chown overrides the recorded owner', () => {
      const script = [
        'chown daemon:daemon /etc/shadow /var/mail',
        'stat -c "%U %G" /etc/shadow /var/mail',
      ].join(' && ');
      const changed = noahAsTestUser(['run', '--rm', 'owners', 'sh', '-c', script]);
      expect(changed.stderr).toBe('');
      expect(changed.stdout).toBe('daemon daemon\ndaemon daemon\n');
      // The chown copied the file up, so the image and later containers keep the layer's owner.
      const later = noahAsTestUser(['run', '--rm', 'owners', 'stat', '-c', '%U %G', '/etc/shadow']);
      expect(later.stdout).toBe('root shadow\n');
    });
  },
);
