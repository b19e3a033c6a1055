import { noahHome } from '../../home';
import { loadAddon, packageVersion, translatorPath } from '../../native';
import { optionValue, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';

/** `noah info`: whether KVM is usable and where the store lives. */
export const infoCommand: Command = {
  name: 'info',
  usage: '[--format json]',
  summary: 'Show whether /dev/kvm is usable and where the store lives',
  options: [{ name: 'format', short: 'f', value: true, help: 'output format: "json"' }],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    const format = optionValue(parsed, 'format');
    if (format !== undefined && format !== 'json') {
      throw new UsageError(`invalid --format "${format}": only "json" is supported`);
    }
    const kvm = loadAddon().probeKvm(process.env.NOAH_KVM_DEVICE || undefined);
    const info = {
      version: packageVersion(),
      store: noahHome(),
      translator: translatorPath(),
      kvm,
    };
    if (format === 'json') {
      io.stdout.write(JSON.stringify(info, null, 2) + '\n');
      return kvm.usable ? 0 : 1;
    }
    const lines = [
      `Version:      ${info.version}`,
      `Store:        ${info.store}`,
      `Translator:   ${info.translator}`,
      `KVM device:   ${kvm.device}`,
      `KVM usable:   ${kvm.usable ? 'yes' : `no (${kvm.error})`}`,
      `KVM API:      ${kvm.apiVersion < 0 ? 'unknown' : kvm.apiVersion}`,
      `KVM platform: ${kvm.platform}`,
      'Capabilities:',
      ...kvm.capabilities.map(
        (c) =>
          `  ${c.name.padEnd(28)} ${c.present ? 'yes' : 'no '}${c.value > 1 ? ` (${c.value})` : ''}` +
          `${c.required ? '' : ' (optional)'}`,
      ),
    ];
    io.stdout.write(lines.join('\n') + '\n');
    return kvm.usable ? 0 : 1;
  },
};
