import * as fs from 'node:fs';

/**
 * Why KVM tests cannot run here, or undefined when /dev/kvm opens read-write. With
 * NOAH_REQUIRE_KVM=1 a missing device fails the run instead of skipping.
 */
export function kvmUnavailableReason(): string | undefined {
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
    return undefined;
  } catch (error) {
    const reason = `/dev/kvm is not usable: ${(error as Error).message}`;
    if (process.env.NOAH_REQUIRE_KVM === '1') {
      throw new Error(`${reason} (NOAH_REQUIRE_KVM=1 requires it)`);
    }
    return reason;
  }
}

/** `describe` that skips, naming the reason, when KVM is missing. */
export function describeKvm(name: string, body: () => void): void {
  const reason = kvmUnavailableReason();
  if (reason === undefined) {
    describe(name, body);
  } else {
    describe.skip(`${name} (skipped: ${reason})`, body);
  }
}
