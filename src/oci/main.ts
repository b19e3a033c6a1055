import { packageVersion } from '../native';

/**
 * Runs `noah-oci ARGV...`, the runc-compatible OCI runtime, and resolves to the exit status.
 * TODO: only --version works; the lifecycle commands (create, start, state, kill, delete) are
 * still to be built.
 */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`noah-oci version ${packageVersion()}\nspec: 1.2.0\n`);
    return 0;
  }
  process.stderr.write(`noah-oci: "${argv[0] ?? ''}" is not supported yet\n`);
  return 1;
}
