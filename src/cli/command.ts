import { OptionSpec } from './args';

/** Where a command writes its output, so tests and other callers can capture it. */
export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** One verb of the command line: `noah NAME ...`. */
export interface Command {
  name: string;
  usage: string; // the argument synopsis after `noah NAME`
  summary: string; // one line for `noah --help`
  options: OptionSpec[];
  stopAtPositional?: boolean;
  /** Runs the command and resolves to its exit status. */
  run(argv: string[], io: CommandIo): Promise<number>;
}
