import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runNoah } from '../helpers/cli';
import { testRegistryImage } from '../helpers/registry';
import { temporaryDir } from './layers';

let home: string;
let work: string;
const noah = (args: string[]) =>
  runNoah(args, { env: { NOAH_HOME: home, DOCKER_CONFIG: path.join(work, 'docker') } });

beforeAll(() => {
  execFileSync('npx', ['tsc', '-p', '.'], { cwd: path.resolve(__dirname, '..', '..') });
});

beforeEach(() => {
  work = temporaryDir('pull-messages');
  home = path.join(work, 'home');
});

afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('noah pull messages', () => {
  test('platform mismatch of single image', () => {
    const image = testRegistryImage('busybox');
    const result = noah(['pull', '--platform', 'linux/arm64', image.reference]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'does not match the specified platform: wanted linux/arm64, actual: linux/amd64',
    );
    expect(noah(['images', '-q']).stdout).toBe('');
  });

  test('matching platform of single image', () => {
    const image = testRegistryImage('busybox');
    const result = noah(['pull', '--platform', 'linux/amd64', image.reference]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  test('quiet prints the tagged reference', () => {
    const image = testRegistryImage('busybox');
    const result = noah(['pull', '-q', image.reference]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${image.reference}\n`);
  });

  test('existing layer is not pulled again', () => {
    const image = testRegistryImage('busybox');
    expect(noah(['pull', image.reference]).status).toBe(0);
    // Removing the tree but keeping the blobs makes the next pull unpack stored layers.
    fs.rmSync(path.join(home, 'tree'), { recursive: true, force: true });
    fs.rmSync(path.join(home, 'images'), { recursive: true, force: true });
    const again = noah(['pull', image.reference]);
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
    const layerLines = again.stdout.split('\n').filter((line) => /^[0-9a-f]{12}: /.test(line));
    expect(layerLines.length).toBeGreaterThan(0);
    for (const line of layerLines) expect(line).toMatch(/: Already exists$/);
  });
});
