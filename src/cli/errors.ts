/**
 * Exit statuses as Docker uses them: 125 when noah itself fails, 126 when the command cannot
 * be run, 127 when it is not found.
 */
export const ExitStatus = {
  ok: 0,
  failure: 1,
  usage: 125,
  noahFailed: 125,
  cannotRun: 126,
  notFound: 127,
} as const;

/** An error that the CLI prints as `noah: MESSAGE` and turns into an exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitStatus: number = ExitStatus.noahFailed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A mistake on the command line: unknown option, missing argument. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitStatus.usage);
    this.name = 'UsageError';
  }
}
