import { Command } from './command';

/** Formats `noah [GROUP] COMMAND --help`: usage, summary and options. */
export function commandHelp(command: Command, prefix = 'noah'): string {
  const lines = [`Usage: ${prefix} ${command.name} ${command.usage}`, '', command.summary];
  if (command.options.length > 0) {
    lines.push('', 'Options:');
    for (const option of command.options) {
      const flag = (option.short ? `-${option.short}, ` : '    ') + `--${option.name}`;
      lines.push(`  ${(flag + (option.value ? ' VALUE' : '')).padEnd(24)} ${option.help}`);
    }
  }
  return lines.join('\n');
}
