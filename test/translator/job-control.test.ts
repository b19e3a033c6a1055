/**
 * Interactive bash under a pseudo-terminal (tmux): job control without warnings, Ctrl-Z, bg, fg
 * and Ctrl-C reach the guest processes as on Linux.
 */
import { spawnSync } from 'node:child_process';

import { fixtureRootfs } from '../fixtures/images';
import { asanTranslator } from '../helpers/cli';
import { describeKvm } from '../helpers/kvm';

const session = `noah-job-control-${process.pid}`;

function tmux(...args: string[]): string {
  const result = spawnSync('tmux', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function screen(): string {
  return tmux('capture-pane', '-t', session, '-p');
}

/** Waits until the screen shows `text`, or fails after `timeoutMs`. */
async function waitFor(text: string | RegExp, timeoutMs = 20000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = screen();
    if (typeof text === 'string' ? shown.includes(text) : text.test(shown)) return shown;
    if (Date.now() > deadline) throw new Error(`screen never showed ${text}:\n${shown}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeKvm('interactive bash under a terminal', () => {
  afterAll(() => {
    spawnSync('tmux', ['kill-session', '-t', session]);
  });

  test('job control: Ctrl-Z, bg, fg, Ctrl-C, exit', async () => {
    const root = await fixtureRootfs('debian');
    const command = [
      asanTranslator(),
      '--root',
      root,
      '--env',
      'PATH=/usr/bin:/bin',
      '--env',
      'TERM=xterm',
      '--env',
      'PS1=prompt$ ',
      '--',
      '/bin/bash',
      '--norc',
      '-i',
    ]
      .map((word) => `'${word}'`)
      .join(' ');
    const env = 'ASAN_OPTIONS=detect_leaks=0';
    tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '100',
      '-y',
      '30',
      `${env} ${command}; echo "exited $?"; sleep 60`,
    );
    const start = await waitFor('prompt$');
    expect(start).not.toContain('no job control');
    expect(start).not.toContain('cannot set terminal process group');

    tmux('send-keys', '-t', session, 'sleep 30', 'Enter');
    await new Promise((resolve) => setTimeout(resolve, 500));
    tmux('send-keys', '-t', session, 'C-z');
    await waitFor(/\[1\]\+\s+Stopped\s+sleep 30/);
    tmux('send-keys', '-t', session, 'bg', 'Enter');
    await waitFor('[1]+ sleep 30 &');
    tmux('send-keys', '-t', session, 'fg', 'Enter');
    await waitFor(/fg\n\s*sleep 30/);
    tmux('send-keys', '-t', session, 'C-c');
    tmux('send-keys', '-t', session, 'echo "status $?"', 'Enter');
    await waitFor('status 130');
    tmux('send-keys', '-t', session, 'exit', 'Enter');
    await waitFor('exited 0');
  }, 60000);
});
