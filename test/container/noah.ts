import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CliResult, noahEnv, repoRoot, runNoah } from '../helpers/cli';

/** A NOAH_HOME of its own for one test file, and `noah` commands run against it. */
export class NoahHome {
  readonly dir: string;

  /** `env` adds to or overrides the environment of every command, such as NOAH_SPARE_ROOTS. */
  constructor(
    label: string,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `noah-${label}-`));
  }

  run(args: string[], input?: string): CliResult {
    return runNoah(args, { env: { NOAH_HOME: this.dir, ...this.env }, input });
  }

  /** Starts `script` under sh in a detached container of `image` and returns its ID. */
  runDetached(image: string, name: string, script: string, options: string[] = []): string {
    const args = ['run', '-d', '--name', name, ...options, '--entrypoint', 'sh', image];
    const result = this.run([...args, '-c', script]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    return result.stdout.trim();
  }

  /** Runs `noah ARGS` without blocking, for commands that must overlap. */
  start(args: string[]): Promise<CliResult> {
    const child = spawn(path.join(repoRoot, 'bin', 'noah'), args, {
      env: { ...noahEnv(), NOAH_HOME: this.dir, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    return new Promise((resolve) => {
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  }

  /** The folders under containers/, one per container. */
  containerIds(): string[] {
    const dir = path.join(this.dir, 'containers');
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  }

  /**
   * Work left in tmp/ by noah processes, once the background removals of containers that
   * earlier tests removed have finished.
   */
  async temporaries(): Promise<string[]> {
    await waitFor(() => !this.temporariesNow().some((name) => name.endsWith('-removed-container')));
    return this.temporariesNow();
  }

  /** Lists what tmp/ contains now, background work included. */
  temporariesNow(): string[] {
    return fs.readdirSync(path.join(this.dir, 'tmp'));
  }

  state(id: string): { status: string; pid: number; supervisorPid: number; exitCode: number } {
    return JSON.parse(fs.readFileSync(path.join(this.dir, 'containers', id, 'state.json'), 'utf8'));
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
