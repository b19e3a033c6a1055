/**
 * An error that noah-oci reports as runc does: the message to stderr and, with --log, as a
 * `level=error` entry that the containerd shim reads back. Exit status 1, as runc's.
 */
export class OciError extends Error {
  constructor(
    message: string,
    readonly exitStatus = 1,
  ) {
    super(message);
    this.name = 'OciError';
  }
}

/** Returns the message of an error thrown by Node or by noah-oci itself. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
