import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliResult, runNoah } from '../helpers/cli';
import { temporaryDir } from './layers';

let home: string;
let work: string;
const noah = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runNoah(args, { env: { NOAH_HOME: home, ...env } });

beforeAll(() => {
  execFileSync('npx', ['tsc', '-p', '.'], { cwd: path.resolve(__dirname, '..', '..') });
});

beforeEach(() => {
  work = temporaryDir('errors');
  home = path.join(work, 'home');
});

afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** Checks that `result` failed with `status` and one line of stderr, with no stack trace. */
function expectOneLineError(result: CliResult, status: number): void {
  expect(result.status).toBe(status);
  expect(result.stderr).toMatch(/^noah: [^\n]+\n$/);
  expect(result.stderr).not.toContain('    at ');
}

describe('unusable NOAH_HOME', () => {
  test.each([
    ['/etc/passwd', '/etc/passwd is not a directory'],
    ['/etc/passwd/store', '/etc/passwd is not a directory'],
    ['/sys/fs/nope', '/sys is a kernel file system'],
    ['/proc/nope', '/proc is a kernel file system'],
  ])('%s fails with one line', (store, cause) => {
    const result = noah(['images'], { NOAH_HOME: store });
    expectOneLineError(result, 125);
    expect(result.stderr).toContain(`image store ${store}`);
    expect(result.stderr).toContain(cause);
  });
});
