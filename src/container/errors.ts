import { CliError, ExitStatus } from '../cli/errors';

/**
 * A container operation that failed: a taken name, an unknown user, a missing mount source.
 * The status is 125 unless given, as Docker reports failures of the runtime itself.
 */
export class ContainerError extends CliError {
  constructor(message: string, exitStatus: number = ExitStatus.noahFailed) {
    super(message, exitStatus);
    this.name = 'ContainerError';
  }
}
