import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { translatorPath } from '../native';
import { CliError } from '../cli/errors';
import { constants } from 'node:os';

/** What the translator needs to start one guest program. */
export interface TranslatorLaunch {
  rootfs: string; // host folder that is the guest's "/"
  argv: string[]; // argv[0] is the program, resolved through PATH inside the root
  env: string[]; // NAME=VALUE, the guest's whole environment
  cwd: string; // guest path
  trace?: boolean;
  readOnly?: boolean; // every change to a file under the root fails with EROFS
}

/** Builds the translator's command line for `launch`. */
export function translatorArgs(launch: TranslatorLaunch): string[] {
  const args = ['--root', launch.rootfs, '--cwd', launch.cwd];
  for (const entry of launch.env) args.push('--env', entry);
  if (launch.trace) args.push('--trace');
  if (launch.readOnly) args.push('--read-only');
  args.push('--', ...launch.argv);
  return args;
}

/**
 * Runs the translator with this process's stdin, stdout and stderr and resolves to the
 * guest's exit status, 128+N when signal N ended it, as a shell reports it.
 */
export function runTranslator(launch: TranslatorLaunch): Promise<number> {
  const executable = translatorPath();
  if (!fs.existsSync(executable)) {
    throw new CliError(`translator not found at ${executable}: run "npm install" to build it`);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(executable, translatorArgs(launch), { stdio: 'inherit' });
    // Ctrl-C reaches the whole foreground process group, so the guest gets it directly;
    // these handlers keep Node alive to report the guest's status.
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
    const ignore = () => {};
    for (const signal of signals) process.on(signal, signal === 'SIGINT' ? ignore : forward);
    child.on('error', (error) => reject(new CliError(`start ${executable}: ${error.message}`)));
    child.on('exit', (code, signal) => {
      for (const s of signals) process.removeAllListeners(s);
      if (signal !== null) resolve(128 + (constants.signals[signal] ?? 0));
      else resolve(code ?? 125);
    });
  });
}
