/**
 * Shells and programs that fork, exec and wait, compared with chroot: each guest process is a
 * host process with a VM of its own.
 */
import { fixtureRootfs } from '../fixtures/images';
import { describeKvm } from '../helpers/kvm';
import { OverlayRoot, canCompareNatively, runNative, runTranslated } from './harness';

let overlay: OverlayRoot;

beforeAll(async () => {
  overlay = new OverlayRoot(await fixtureRootfs('debian'));
}, 600000);

afterAll(() => overlay?.remove());

const describeRoot = canCompareNatively() ? describeKvm : describe.skip;

const scripts = [
  'cat /etc/passwd | grep root | wc -l',
  'seq 100000 | head -1',
  'x=$(echo sub); echo $x; (exit 3); echo "subshell $?"',
  'for i in 1 2 3; do echo $i; done | while read l; do echo line $l; done',
  'find /etc/apt -name "*.conf*" -exec echo found {} \\; | sort',
  'echo a b c d | xargs -n1 -P2 echo | sort',
  'perl -e \'my $p = fork; if ($p == 0) { exit 7 } waitpid($p, 0); print $? >> 8, "\\n"\'',
  'sleep 10 & kill $!; wait $!; echo "killed $?"',
  'trap "echo bye" EXIT; echo hi',
  'set -e; echo before; false; echo not reached',
  'gunzip --version | head -1',
  'missing-command; echo "status $?"',
  'exec ls /usr/share/common-licenses',
  'timeout 1 sleep 5; echo "timeout status $?"',
];

describeRoot('shell scripts compared with chroot', () => {
  test.each(scripts)('bash -c %s', (script) => {
    const argv = ['bash', '-c', script];
    const native = runNative(overlay.merged, argv);
    const translated = runTranslated(overlay.merged, argv);
    expect(translated.stderr).toBe(native.stderr);
    expect(translated.stdout).toBe(native.stdout);
    expect(translated.status).toBe(native.status);
    expect(native.stdout).not.toBe('');
  });

  test('300 runs of /bin/true with a SIGCHLD handler in place', () => {
    // bash's SIGCHLD handler interrupts KVM_RUN at random points of the loop.
    const script = 'n=0; for i in $(seq 300); do /bin/true && n=$((n + 1)); done; echo "$n"';
    for (let run = 0; run < 3; run++) {
      const translated = runTranslated(overlay.merged, ['bash', '-c', script]);
      expect(translated.stderr).toBe('');
      expect(translated.stdout).toBe('300\n');
      expect(translated.status).toBe(0);
    }
  });

  test('a script with functions, loops and a here-document', () => {
    const script = [
      'count() { local n=0; while read -r line; do n=$((n + 1)); done; echo "$n"; }',
      'lines=$(count < /etc/passwd)',
      'cat <<END',
      'passwd has $lines lines',
      'END',
      'case "$lines" in [0-9]*) echo numeric ;; *) echo other ;; esac',
      'exit 5',
    ].join('\n');
    const native = runNative(overlay.merged, ['bash', '-c', script]);
    const translated = runTranslated(overlay.merged, ['bash', '-c', script]);
    expect(translated.stdout).toBe(native.stdout);
    expect(translated.status).toBe(5);
    expect(native.status).toBe(5);
  });
});
