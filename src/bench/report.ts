/** The results of one bench run, and their rendering as terminal tables, JSON and Markdown. */
import { Counters, explainCounters, formatCounters } from './counters';
import { Summary } from './statistics';

/** The measurement of one tool on one workload: a summary, or the error that prevented it. */
export interface Cell {
  samples: number[];
  summary?: Summary;
  /** The tool's median over native's median from the same run. */
  ratio?: number;
  error?: string;
}

export interface WorkloadResult {
  id: string;
  title: string;
  unit: 'ms' | 'ns';
  command: string;
  cells: Record<string, Cell>;
  /** noah's counters from one extra run with NOAH_STATS=1, when --counters is given. */
  counters?: Counters;
}

export interface ToolResult {
  name: string;
  version: string;
  note?: string;
  /** The reason the tool ran no workload, when it failed its start-up check. */
  error?: string;
}

export interface Machine {
  cpuModel: string;
  cores: number;
  kernel: string;
  kvmPlatform: string;
  memoryGiB: number;
}

export interface BenchResults {
  date: string;
  command: string;
  quick: boolean;
  runsPerTool: number;
  durationSeconds: number;
  machine: Machine;
  roots: Record<string, string>;
  tools: ToolResult[];
  workloads: WorkloadResult[];
}

function formatValue(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function ratioText(cell: Cell | undefined): string {
  if (cell === undefined) return '-';
  if (cell.error !== undefined) return cell.error.startsWith('timed out') ? 'timeout' : 'failed';
  if (cell.ratio === undefined) return '-';
  return `${cell.ratio >= 10 ? cell.ratio.toFixed(0) : cell.ratio.toFixed(2)}x`;
}

function absoluteText(cell: Cell | undefined, unit: string): string {
  if (cell?.summary === undefined) return ratioText(cell);
  const { median, spreadPercent } = cell.summary;
  return `${formatValue(median)} ${unit} ±${spreadPercent.toFixed(0)}%`;
}

/** Rows of cells as columns padded to their widest cell, the first column left-aligned. */
function alignColumns(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]),
      )
      .join('  ')
      .trimEnd(),
  );
}

function markdownTable(rows: string[][]): string[] {
  const [header, ...body] = rows;
  const line = (cells: string[]) =>
    `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...body.map(line)];
}

/** Builds the ratio table: native's median, then each tool's median over native's. */
function ratioRows(results: BenchResults): string[][] {
  const others = results.tools.filter((tool) => tool.name !== 'native');
  const rows = [['workload', 'native', ...others.map((tool) => tool.name)]];
  for (const workload of results.workloads) {
    const native = workload.cells.native;
    const nativeText =
      native?.summary !== undefined
        ? `${formatValue(native.summary.median)} ${workload.unit}`
        : ratioText(native);
    rows.push([
      workload.title,
      nativeText,
      ...others.map((tool) => ratioText(workload.cells[tool.name])),
    ]);
  }
  return rows;
}

/** Builds the absolute table: each tool's median and relative spread. */
function absoluteRows(results: BenchResults): string[][] {
  const rows = [['workload', ...results.tools.map((tool) => tool.name)]];
  for (const workload of results.workloads) {
    rows.push([
      workload.title,
      ...results.tools.map((tool) => absoluteText(workload.cells[tool.name], workload.unit)),
    ]);
  }
  return rows;
}

/** Lists one line per tool failure, for the notes under a table. */
function failureLines(results: BenchResults): string[] {
  const lines: string[] = [];
  for (const tool of results.tools) {
    if (tool.error !== undefined) {
      lines.push(`${tool.name}: ran no workload: ${tool.error}`);
      continue;
    }
    for (const workload of results.workloads) {
      const error = workload.cells[tool.name]?.error;
      if (error !== undefined) lines.push(`${tool.name} on ${workload.id}: ${error}`);
    }
  }
  return lines;
}

function toolLines(results: BenchResults): string[] {
  return results.tools.map((tool) => {
    const version = tool.version === '' ? 'not installed' : tool.version;
    return tool.note === undefined
      ? `${tool.name}: ${version}`
      : `${tool.name}: ${version}; ${tool.note}`;
  });
}

/**
 * Lists the `count` rows where noah's ratio to native is highest, each with its counters when
 * they were taken, then the rows where noah failed.
 */
function furthestFromNative(results: BenchResults, count: number): string[] {
  const measured = results.workloads.filter((workload) => workload.cells.noah?.ratio !== undefined);
  measured.sort((a, b) => b.cells.noah.ratio! - a.cells.noah.ratio!);
  const lines: string[] = [];
  for (const workload of measured.slice(0, count)) {
    const noah = workload.cells.noah;
    const native = workload.cells.native.summary!;
    lines.push(
      `${workload.title}: ${ratioText(noah)} native ` +
        `(${formatValue(noah.summary!.median)} against ${formatValue(native.median)} ${workload.unit})`,
    );
    if (workload.counters !== undefined) {
      const explanation = explainCounters(workload.counters);
      if (explanation !== undefined) lines.push(`  ${explanation}.`);
    }
  }
  for (const workload of results.workloads) {
    const error = workload.cells.noah?.error;
    if (error !== undefined) lines.push(`${workload.title}: failed under noah: ${error}`);
  }
  return lines;
}

/** Formats the results for the terminal. */
export function terminalReport(results: BenchResults): string {
  const out: string[] = [];
  out.push(`ratio to native (median of ${results.runsPerTool} runs each, taken interleaved):`);
  out.push(...alignColumns(ratioRows(results)));
  out.push('', 'medians and spread (half the interquartile range over the median):');
  out.push(...alignColumns(absoluteRows(results)));
  const failures = failureLines(results);
  if (failures.length > 0) out.push('', 'failures:', ...failures.map((line) => `  ${line}`));
  out.push('', 'tools:', ...toolLines(results).map((line) => `  ${line}`));
  const furthest = furthestFromNative(results, 3);
  if (furthest.length > 0) {
    out.push('', 'where noah is furthest from native:', ...furthest.map((line) => `  ${line}`));
  }
  const counted = results.workloads.filter((workload) => workload.counters !== undefined);
  if (counted.length > 0) {
    out.push(
      '',
      'noah counters (one extra run of each row with NOAH_STATS=1; sums over processes ' +
        "overcount rows that fork, because a child's counters begin with its parent's):",
    );
    for (const workload of counted) {
      out.push(`  ${workload.title}:`);
      out.push(...formatCounters(workload.counters!).map((line) => `    ${line}`));
    }
  }
  out.push(
    '',
    'Absolute times compare only within one run on one machine; compare ratios across runs.',
  );
  return out.join('\n');
}

/** Formats the results as the BENCHMARKS.md page. */
export function markdownReport(results: BenchResults, reproduce: string): string {
  const { machine } = results;
  const out: string[] = [
    '# Benchmarks',
    '',
    'The latest run of `npm run bench`: every workload runs inside the same root filesystem ' +
      '(the debian test fixture, a bookworm minbase root; the build row uses the same root ' +
      'with build-essential) under each tool. Each cell is the median of the runs taken in ' +
      'this one bench run, interleaved across tools after one warm-up run each, so drift of ' +
      'the shared machine affects every tool alike.',
    '',
    '**Absolute times compare only within one run on one machine.** Compare the ratios to ' +
      'native across machines and runs.',
    '',
    `- date: ${results.date}`,
    `- machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB, ` +
      `Linux ${machine.kernel}; /dev/kvm is ${machine.kvmPlatform === 'pvm' ? 'PVM (kvm_pvm, paravirtual KVM inside a VM)' : machine.kvmPlatform}`,
    `- runs: ${results.runsPerTool} per tool and row after a warm-up, fewer where a slow cell ` +
      'used up its time budget; a warm-up longer than 10 s counts as the first run (the JSON ' +
      'has every sample)' +
      `${results.quick ? '; quick mode, with shorter loops' : ''}`,
    `- duration of the whole bench run: ${(results.durationSeconds / 60).toFixed(1)} min`,
    `- reproduce as root, after \`npm install\` and \`apt-get install -y runc crun runsc proot ` +
      `mmdebstrap gcc\`: \`${reproduce}\` (\`--quick\` takes a few minutes)`,
    '',
    '## Ratio to native',
    '',
    "native is the median time; the other columns are that tool's median over native's " +
      '(lower is better, 1.00x is native speed).',
    '',
    ...markdownTable(ratioRows(results)),
    '',
    '## Medians and spread',
    '',
    'Spread is half the interquartile range over the median.',
    '',
    ...markdownTable(absoluteRows(results)),
    '',
  ];
  const failures = failureLines(results);
  if (failures.length > 0) {
    out.push('## Failures', '', ...failures.map((line) => `- ${line}`), '');
  }
  const furthest = furthestFromNative(results, 3);
  if (furthest.length > 0) {
    out.push(
      '## Where noah is furthest from native',
      '',
      ...furthest.map((line) => (line.startsWith('  ') ? `  - ${line.trim()}` : `- ${line}`)),
      '',
    );
  }
  out.push('## Tools', '', ...toolLines(results).map((line) => `- ${line}`), '');
  const counted = results.workloads.filter((workload) => workload.counters !== undefined);
  if (counted.length > 0) {
    out.push(
      '## noah counters',
      '',
      'From one extra run of each row under noah with `NOAH_STATS=1`. Counts and times are ' +
        "summed over the guest processes, so a parent's wait4 also contains its children's " +
        "time, and a forked child's counters begin with its parent's at the fork, which the " +
        'sum counts again: for rows that fork, trust the busiest process line most.',
      '',
    );
    for (const workload of counted) {
      out.push(`- ${workload.title}:`);
      out.push(...formatCounters(workload.counters!).map((line) => `  - ${line}`));
    }
    out.push('');
  }
  return out.join('\n');
}
