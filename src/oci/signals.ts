import { constants } from 'node:os';

import { OciError } from './errors';

/**
 * Parses a signal as runc's kill takes it: a number (`9`), a name (`KILL`, `SIGKILL`, any
 * case) or a real-time signal (`RTMIN+3`). Returns the signal number.
 */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (number >= 1 && number <= 64) return number;
    throw new OciError(`unknown signal "${text}"`);
  }
  const name = text.toUpperCase().replace(/^SIG/, '');
  const realtime = /^RTMIN\+(\d+)$/.exec(name) ?? /^RTMAX-(\d+)$/.exec(name);
  if (realtime !== null) {
    const offset = Number(realtime[1]);
    const number = name.startsWith('RTMIN') ? 34 + offset : 64 - offset;
    if (number >= 34 && number <= 64) return number;
  }
  const number = (constants.signals as Record<string, number>)[`SIG${name}`];
  if (number === undefined) throw new OciError(`unknown signal "${text}"`);
  return number;
}
