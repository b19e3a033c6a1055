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
  const help = [
    'Usage: noah-oci [--version] COMMAND [ARG...]',
    '',
    'The runc-compatible OCI runtime of noah. Only --version works so far: the lifecycle',
    'commands (create, start, state, kill, delete, exec, run) are not built yet; use',
    '"noah run" in the meantime.',
  ].join('\n');
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    process.stdout.write(help + '\n');
    return argv.length === 0 ? 1 : 0;
  }
  process.stderr.write(`noah-oci: "${argv[0]}" is not supported yet: run "noah-oci --help"\n`);
  return 1;
}
