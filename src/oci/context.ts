import { Logger } from './log';

/** The global flags, parsed, which every command receives. */
export interface Context {
  root: string; // --root, the folder of the container states
  logger: Logger;
  systemdCgroup: boolean; // accepted and ignored: a translator container has no cgroup
}

/** One command of the command line, as the table in main.ts lists them. */
export interface Command {
  name: string;
  summary: string;
  run(context: Context, argv: string[]): Promise<number>;
}
