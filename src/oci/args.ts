import { OciError } from './errors';

/** A flag of one command, spelled as runc spells it. */
export interface FlagSpec {
  name: string; // without dashes
  aliases?: string[]; // such as "b" for --bundle
  value?: boolean; // takes a value (`--name VALUE` or `--name=VALUE`)
  repeat?: boolean; // values are collected in order
}

/** Flags and positional arguments after parsing. */
export interface ParsedFlags {
  flags: Map<string, string[]>;
  positionals: string[];
}

/**
 * Parses `argv` as Go's flag package does for runc: a flag is `-name` or `--name`, with its
 * value after `=` or in the next argument, and the first positional argument ends the flags,
 * so `exec ID sh -c CMD` keeps `-c` for the program.
 */
export function parseFlags(argv: string[], specs: FlagSpec[]): ParsedFlags {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) {
    byName.set(spec.name, spec);
    for (const alias of spec.aliases ?? []) byName.set(alias, spec);
  }
  const flags = new Map<string, string[]>();
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = byName.get(name);
    if (spec === undefined) throw new OciError(`flag provided but not defined: -${name}`);
    let value = 'true';
    if (spec.value) {
      if (eq >= 0) value = body.slice(eq + 1);
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new OciError(`flag needs an argument: -${name}`);
    } else if (eq >= 0) {
      value = body.slice(eq + 1);
    }
    const values = spec.repeat ? (flags.get(spec.name) ?? []) : [];
    values.push(value);
    flags.set(spec.name, values);
  }
  return { flags, positionals: argv.slice(i) };
}

/** Returns the last value of a flag, or undefined when it was not given. */
export function flagValue(parsed: ParsedFlags, name: string): string | undefined {
  return parsed.flags.get(name)?.at(-1);
}

/** Returns whether a boolean flag was given and not set to false. */
export function flagSet(parsed: ParsedFlags, name: string): boolean {
  const value = flagValue(parsed, name);
  return value !== undefined && value !== 'false';
}

/**
 * Checks that exactly `count` positional arguments came (at least `count` with `atLeast`),
 * with runc's message otherwise.
 */
export function expectArgs(command: string, parsed: ParsedFlags, count: number, atLeast = false) {
  const given = parsed.positionals.length;
  if (given === count || (atLeast && given > count)) return;
  const quantity = atLeast ? 'a minimum of' : 'exactly';
  throw new OciError(
    `"noah-oci ${command}" requires ${quantity} ${count} argument(s), ${given} given`,
  );
}
