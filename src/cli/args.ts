import { UsageError } from './errors';

/** One option a command accepts. */
export interface OptionSpec {
  name: string; // long name without dashes
  short?: string; // one letter without the dash
  value?: boolean; // takes a value (`--name VALUE` or `--name=VALUE`)
  repeat?: boolean; // may be given several times; values are collected in order
  help: string;
}

/** Options and positional arguments after parsing. */
export interface ParsedArgs {
  options: Map<string, string[]>;
  positionals: string[];
}

/**
 * Parses `argv` against `specs`. With `stopAtPositional`, the first positional argument and
 * everything after it are positionals, as Docker parses `run IMAGE COMMAND ARG...`.
 */
export function parseArgs(
  argv: string[],
  specs: OptionSpec[],
  stopAtPositional = false,
): ParsedArgs {
  const options = new Map<string, string[]>();
  const positionals: string[] = [];
  const byLong = new Map(specs.map((spec) => [spec.name, spec]));
  const byShort = new Map(specs.filter((s) => s.short).map((spec) => [spec.short!, spec]));

  const record = (spec: OptionSpec, value: string) => {
    const values = options.get(spec.name) ?? [];
    if (!spec.repeat) values.length = 0;
    values.push(value);
    options.set(spec.name, values);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byLong.get(name);
      if (spec === undefined) throw new UsageError(`unknown flag: --${name}`);
      if (!spec.value) {
        if (eq >= 0) throw new UsageError(`flag --${name} takes no value`);
        record(spec, 'true');
        continue;
      }
      if (eq >= 0) {
        record(spec, arg.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
        record(spec, argv[++i]);
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // A cluster of short flags such as -it, where the last one may take a value.
      for (let j = 1; j < arg.length; j++) {
        const spec = byShort.get(arg[j]);
        if (spec === undefined)
          throw new UsageError(`unknown shorthand flag: '${arg[j]}' in ${arg}`);
        if (!spec.value) {
          record(spec, 'true');
          continue;
        }
        const rest = arg.slice(j + 1);
        if (rest !== '') {
          record(spec, rest.startsWith('=') ? rest.slice(1) : rest);
        } else {
          if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${arg[j]}`);
          record(spec, argv[++i]);
        }
        break;
      }
      continue;
    }
    positionals.push(arg);
    if (stopAtPositional) {
      positionals.push(...argv.slice(i + 1));
      break;
    }
  }
  return { options, positionals };
}

/** The last value of option `name`, or undefined. */
export function optionValue(parsed: ParsedArgs, name: string): string | undefined {
  const values = parsed.options.get(name);
  return values === undefined ? undefined : values[values.length - 1];
}

/** Whether boolean option `name` was given. */
export function optionFlag(parsed: ParsedArgs, name: string): boolean {
  return parsed.options.has(name);
}
