import { Rlimit } from '../runtime/limits';
import { ContainerError } from './errors';

/** The limit names `--ulimit` takes, as Docker's: lowercase RLIMIT_ names without the prefix. */
const ULIMIT_NAMES = new Set([
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
]);

/** RLIM_INFINITY, which -1 stands for, as prlimit(1) reads "unlimited". */
const UNLIMITED = 2 ** 64 - 1;

/**
 * Parses one `--ulimit NAME=SOFT[:HARD]` value as Docker does: the hard limit defaults to the
 * soft one, -1 means unlimited, and the soft limit may not exceed the hard one.
 */
export function parseUlimit(text: string): Rlimit {
  const match = /^([a-z]+)=(-1|[0-9]+)(?::(-1|[0-9]+))?$/.exec(text);
  if (match === null) {
    throw new ContainerError(`invalid ulimit "${text}": use NAME=SOFT[:HARD], as nofile=1024:2048`);
  }
  const [, name, softText, hardText] = match;
  if (!ULIMIT_NAMES.has(name)) {
    throw new ContainerError(
      `invalid ulimit "${text}": unknown name ${name}; use one of ${[...ULIMIT_NAMES].join(', ')}`,
    );
  }
  const value = (number: string) => (number === '-1' ? UNLIMITED : Number(number));
  const soft = value(softText);
  const hard = hardText === undefined ? soft : value(hardText);
  if (soft > hard) {
    throw new ContainerError(
      `invalid ulimit "${text}": the soft limit ${softText} is above the hard limit ${hardText}`,
    );
  }
  return { type: `RLIMIT_${name.toUpperCase()}`, soft, hard };
}
