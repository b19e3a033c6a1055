/**
 * The translator's own counters, which it writes to stderr at exit when NOAH_STATS=1: one block
 * per guest process, with the time in all, in KVM_RUN and in system call handlers, then VM
 * exits by reason and system calls by name, each with a count and a time in ms.
 */

/** A count and the time it took, in milliseconds. */
export interface Tally {
  count: number;
  ms: number;
}

/**
 * The counters of every process of one run, summed.
 *
 * NOTE: the translator's counters in a forked child start from its parent's values at the fork
 * (seen in a shell loop of /bin/true). Sums over processes therefore count a parent's work
 * before each fork again, and a child's own figures include its parent's calls before the fork.
 */
export interface Counters {
  processes: number;
  totalMs: number;
  kvmRunMs: number;
  handlerMs: number;
  calls: number;
  exits: Record<string, Tally>;
  syscalls: Record<string, Tally>;
  /** The process that made the most system calls: in a pipeline, the one doing the work. */
  busiest?: ProcessSummary;
}

/** The summary line of one guest process. */
export interface ProcessSummary {
  pid: number;
  calls: number;
  kvmRunMs: number;
  handlerMs: number;
}

const summaryPattern =
  /^noah: stats \[(\d+)\]: ([\d.]+) ms in all, ([\d.]+) ms in KVM_RUN.*?, ([\d.]+) ms in system call handlers, (\d+) calls/;
const tallyPattern = /^noah: stats \[\d+\]: (exit|call) (.+?)\s+(\d+)\s+([\d.]+) ms$/;

function add(table: Record<string, Tally>, name: string, count: number, ms: number): void {
  const entry = table[name] ?? { count: 0, ms: 0 };
  entry.count += count;
  entry.ms += ms;
  table[name] = entry;
}

/** Parses and sums the counter lines in a run's stderr; undefined when there are none. */
export function parseCounters(stderr: string): Counters | undefined {
  const counters: Counters = {
    processes: 0,
    totalMs: 0,
    kvmRunMs: 0,
    handlerMs: 0,
    calls: 0,
    exits: {},
    syscalls: {},
  };
  for (const line of stderr.split('\n')) {
    const summary = summaryPattern.exec(line);
    if (summary !== null) {
      const process: ProcessSummary = {
        pid: Number(summary[1]),
        kvmRunMs: Number(summary[3]),
        handlerMs: Number(summary[4]),
        calls: Number(summary[5]),
      };
      counters.processes += 1;
      counters.totalMs += Number(summary[2]);
      counters.kvmRunMs += process.kvmRunMs;
      counters.handlerMs += process.handlerMs;
      counters.calls += process.calls;
      if (counters.busiest === undefined || process.calls > counters.busiest.calls) {
        counters.busiest = process;
      }
      continue;
    }
    const tally = tallyPattern.exec(line);
    if (tally !== null) {
      const table = tally[1] === 'exit' ? counters.exits : counters.syscalls;
      add(table, tally[2].trim(), Number(tally[3]), Number(tally[4]));
    }
  }
  return counters.processes === 0 ? undefined : counters;
}

/** Returns the `limit` entries of a table with the most time, largest first. */
export function topByTime(table: Record<string, Tally>, limit: number): [string, Tally][] {
  return Object.entries(table)
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, limit);
}

/**
 * Returns one sentence on where the busiest process's time went: VM exits (KVM_RUN) or the
 * system call handlers, with the mean KVM_RUN time per exit or the costliest call.
 */
export function explainCounters(counters: Counters): string | undefined {
  const busiest = counters.busiest;
  if (busiest === undefined || busiest.kvmRunMs + busiest.handlerMs <= 0) return undefined;
  const guestShare = (100 * busiest.kvmRunMs) / (busiest.kvmRunMs + busiest.handlerMs);
  if (guestShare >= 50) {
    const exits = Object.values(counters.exits).reduce(
      (sum, tally) => ({ count: sum.count + tally.count, ms: sum.ms + tally.ms }),
      { count: 0, ms: 0 },
    );
    const perExit = exits.count > 0 ? (1000 * exits.ms) / exits.count : 0;
    return (
      `${guestShare.toFixed(0)}% of the busiest process's time is in KVM_RUN, which is the ` +
      `guest's own work plus one VM exit and entry per system call (${perExit.toFixed(0)} us ` +
      `of KVM_RUN per exit on average)`
    );
  }
  const [name, tally] = topByTime(counters.syscalls, 1)[0] ?? ['none', { count: 0, ms: 0 }];
  return (
    `${(100 - guestShare).toFixed(0)}% of the busiest process's time is in system call ` +
    `handlers; the costliest call over all processes is ${name} (${tally.count} calls, ` +
    `${tally.ms.toFixed(0)} ms, blocking waits included)`
  );
}

/** Formats counters as lines of text, for the terminal and the Markdown report alike. */
export function formatCounters(counters: Counters): string[] {
  const lines = [
    `${counters.processes} process(es), ${counters.calls} system calls; summed over processes: ` +
      `${counters.totalMs.toFixed(1)} ms in all, ${counters.kvmRunMs.toFixed(1)} ms in KVM_RUN ` +
      `(guest code, exits, entries), ${counters.handlerMs.toFixed(1)} ms in system call handlers`,
  ];
  const exits = topByTime(counters.exits, 4).map(
    ([name, tally]) =>
      `${name} ${tally.count} x ${((1000 * tally.ms) / tally.count).toFixed(1)} us in KVM_RUN`,
  );
  lines.push(`VM exits: ${exits.join(', ')}`);
  const calls = topByTime(counters.syscalls, 6).map(
    ([name, tally]) =>
      `${name} ${tally.count} x ${((1000 * tally.ms) / tally.count).toFixed(1)} us = ${tally.ms.toFixed(1)} ms`,
  );
  lines.push(`calls by host time: ${calls.join(', ')}`);
  const busiest = counters.busiest;
  if (busiest !== undefined && busiest.kvmRunMs + busiest.handlerMs > 0) {
    const guestShare = (100 * busiest.kvmRunMs) / (busiest.kvmRunMs + busiest.handlerMs);
    lines.push(
      `busiest process (${busiest.calls} calls): ${guestShare.toFixed(0)}% of its time in ` +
        `KVM_RUN, ${(100 - guestShare).toFixed(0)}% in system call handlers`,
    );
  }
  return lines;
}
