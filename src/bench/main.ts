/**
 * `npm run bench [-- OPTIONS]`: runs each workload inside the same root filesystem under a
 * native chroot, crun, runc, runsc (gVisor, per platform), proot and noah, and reports each
 * tool's median and its ratio to native from runs taken interleaved in this one run. Prints
 * tables and writes bench-results.json (and BENCHMARKS.md-style Markdown with --markdown).
 *
 * Needs root: chroot, overlay mounts and the OCI runtimes run as root.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { loadAddon } from '../native';
import { parseCounters } from './counters';
import { RunResult, describeFailure, killActiveRuns, runTimed } from './process';
import {
  BenchResults,
  Cell,
  Machine,
  WorkloadResult,
  markdownReport,
  terminalReport,
} from './report';
import { MountedRoots, mountRoots, repoRoot } from './roots';
import { median, summarize } from './statistics';
import { CheckedTool, allTools, checkTool } from './tools';
import { Workload, workloads } from './workloads';

const usage = `usage: npm run bench -- [--quick] [--counters] [--runs N] [--only IDS] [--tools NAMES]
                          [--json FILE] [--markdown FILE]

  --quick          shorter loops and 3 runs: a first look in a few minutes
  --counters       run each noah row once more with NOAH_STATS=1 and print its counters
  --runs N         timed runs per tool and row after the warm-up (default 5, quick 3)
  --only IDS       comma-separated workload ids: ${workloads(false)
    .map((workload) => workload.id)
    .join(',')}
  --tools NAMES    comma-separated tools besides native (native always runs)
  --json FILE      where to write the results (default bench-results.json)
  --markdown FILE  also write the Markdown page, as BENCHMARKS.md is made`;

interface Options {
  quick: boolean;
  counters: boolean;
  runs: number;
  only?: Set<string>;
  tools?: Set<string>;
  json: string;
  markdown?: string;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      counters: { type: 'boolean', default: false },
      runs: { type: 'string' },
      only: { type: 'string' },
      tools: { type: 'string' },
      json: { type: 'string', default: path.join(repoRoot, 'bench-results.json') },
      markdown: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  let runs = quick ? 3 : 5;
  if (values.runs !== undefined) runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`invalid --runs ${values.runs}: expected an integer of 1 or more`);
  const list = (text: string | undefined) =>
    text === undefined ? undefined : new Set(text.split(',').map((item) => item.trim()));
  return {
    quick,
    counters: values.counters ?? false,
    runs,
    only: list(values.only),
    tools: list(values.tools),
    json: path.resolve(values.json ?? 'bench-results.json'),
    markdown: values.markdown === undefined ? undefined : path.resolve(values.markdown),
  };
}

/** Formats a Markdown file with the project's Prettier, as `npm run lint` checks it. */
function formatMarkdown(file: string): void {
  const prettier = path.join(repoRoot, 'node_modules', '.bin', 'prettier');
  const result = spawnSync(prettier, ['--write', file], { encoding: 'utf8' });
  if (result.status !== 0) {
    const reason = result.error?.message ?? result.stderr.trim();
    console.error(`warning: prettier --write ${file} failed (${reason}); run npm run format`);
  }
}

function describeMachine(): Machine {
  const cpus = os.cpus();
  let kvmPlatform = 'unknown';
  try {
    const probe = loadAddon().probeKvm();
    kvmPlatform = probe.usable ? probe.platform : `unusable (${probe.error})`;
  } catch (error) {
    kvmPlatform = `unknown (${(error as Error).message})`;
  }
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    kernel: os.release(),
    kvmPlatform,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

/** Time budget of one tool on one row: after `minRuns` runs, no new run starts past it. */
interface Budget {
  minRuns: number;
  cellSeconds: number;
}

/**
 * A warm-up run that takes longer than this counts as the first timed run. Start-up effects
 * (cold page cache, a runtime's first start) are then a small share of the run, and the slowest
 * rows (dd under the ptrace tools, about 35 s a run) fit the bench's 15-minute target.
 */
const warmUpCountsAfterMs = 10000;

/** One measured value, and the wall time of the run that produced it in ms. */
interface Sample {
  value: number;
  ms: number;
}

/** Runs one workload under every usable tool: a warm-up each, then interleaved timed runs. */
async function measureWorkload(
  workload: Workload,
  tools: CheckedTool[],
  roots: MountedRoots,
  runs: number,
  budget: Budget,
): Promise<WorkloadResult> {
  const root = roots.paths[workload.root];
  const cells: Record<string, Cell> = {};
  const spentMs: Record<string, number> = {};
  let expectedOutput: string | undefined;
  const runOnce = async (checked: CheckedTool): Promise<Sample | undefined> => {
    const name = checked.tool.name;
    let result: RunResult;
    try {
      result = await runTimed(checked.tool.invocation(workload, root), workload.timeoutSeconds);
    } catch (error) {
      cells[name].error = (error as Error).message;
      return undefined;
    }
    spentMs[name] = (spentMs[name] ?? 0) + result.ms;
    if (result.status !== 0 || result.timedOut) {
      cells[name].error = describeFailure(result, workload.timeoutSeconds);
      return undefined;
    }
    const output = result.stdout.trim();
    if (name === 'native' && expectedOutput === undefined) expectedOutput = output;
    if (workload.compareOutput && expectedOutput !== undefined && output !== expectedOutput) {
      const stderr = describeFailure(result, workload.timeoutSeconds).replace(
        /^exit status 0:? ?/,
        '',
      );
      cells[name].error =
        `output differs from native: ${JSON.stringify(output.slice(0, 80))}, ` +
        `expected ${JSON.stringify(expectedOutput.slice(0, 80))}` +
        (stderr === '' ? '' : `; stderr: ${stderr}`);
      return undefined;
    }
    if (workload.measure === 'stdout-ns') {
      const value = Number(output);
      if (!Number.isFinite(value)) {
        cells[name].error =
          `expected a number on stdout, got ${JSON.stringify(output.slice(0, 80))}`;
        return undefined;
      }
      return { value, ms: result.ms };
    }
    return { value: result.ms, ms: result.ms };
  };

  for (const checked of tools) {
    cells[checked.tool.name] = { samples: [] };
    if (checked.error !== undefined) cells[checked.tool.name].error = checked.error;
  }
  const active = () => tools.filter((checked) => cells[checked.tool.name].error === undefined);
  process.stderr.write(`${workload.id}: warm-up`);
  for (const checked of active()) {
    const warmUp = await runOnce(checked);
    if (warmUp !== undefined && warmUp.ms > warmUpCountsAfterMs) {
      cells[checked.tool.name].samples.push(warmUp.value);
    }
  }
  for (let run = 0; run < runs; run++) {
    process.stderr.write(` ${run + 1}`);
    for (const checked of active()) {
      const cell = cells[checked.tool.name];
      const overBudget = spentMs[checked.tool.name] > budget.cellSeconds * 1000;
      if (cell.samples.length >= budget.minRuns && overBudget) continue;
      const sample = await runOnce(checked);
      if (sample !== undefined) cell.samples.push(sample.value);
    }
  }
  process.stderr.write('\n');

  for (const cell of Object.values(cells)) {
    if (cell.error === undefined && cell.samples.length > 0) cell.summary = summarize(cell.samples);
  }
  const native = cells.native?.summary;
  for (const cell of Object.values(cells)) {
    if (native !== undefined && cell.summary !== undefined && native.median > 0) {
      cell.ratio = median(cell.samples) / native.median;
    }
  }
  return {
    id: workload.id,
    title: workload.title,
    unit: workload.measure === 'stdout-ns' ? 'ns' : 'ms',
    command: workload.argv.join(' '),
    cells,
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (process.getuid?.() !== 0) {
    throw new Error('npm run bench needs root (chroot, overlay mounts, runc): run it as root');
  }
  const started = Date.now();
  const workFolder = path.join(repoRoot, 'rootfs-cache', 'bench');
  fs.mkdirSync(workFolder, { recursive: true });
  const selected = workloads(options.quick).filter(
    (workload) => options.only === undefined || options.only.has(workload.id),
  );
  if (selected.length === 0) throw new Error(`--only matched no workload id\n${usage}`);

  const roots = mountRoots(workFolder);
  const release = () => roots.unmount();
  process.on('SIGINT', () => {
    killActiveRuns();
    release();
    process.exit(130);
  });
  process.on('SIGTERM', () => {
    killActiveRuns();
    release();
    process.exit(143);
  });
  try {
    const tools = allTools(
      path.join(workFolder, 'bundles'),
      path.join(workFolder, 'state'),
      path.join(workFolder, 'bin'),
    ).filter(
      (tool) =>
        tool.name === 'native' || options.tools === undefined || options.tools.has(tool.name),
    );
    const probe = workloads(options.quick).find((workload) => workload.id === 'true')!;
    const checked: CheckedTool[] = [];
    for (const tool of tools) {
      process.stderr.write(`checking ${tool.name}... `);
      const result = await checkTool(tool, probe, roots.paths.debian, 20);
      process.stderr.write(result.error === undefined ? 'ok\n' : `failed: ${result.error}\n`);
      checked.push(result);
    }
    if (checked[0].error !== undefined)
      throw new Error(`native chroot failed: ${checked[0].error}`);

    const budget: Budget = options.quick
      ? { minRuns: 2, cellSeconds: 8 }
      : { minRuns: 3, cellSeconds: 30 };
    const results: WorkloadResult[] = [];
    for (const workload of selected) {
      results.push(await measureWorkload(workload, checked, roots, options.runs, budget));
    }

    const noah = checked.find((tool) => tool.tool.name === 'noah' && tool.error === undefined);
    if (options.counters && noah !== undefined) {
      for (const [index, workload] of selected.entries()) {
        // A row that timed out would only time out again, and a killed translator prints nothing.
        if (results[index].cells.noah?.error?.startsWith('timed out')) continue;
        process.stderr.write(`counters: ${workload.id}\n`);
        const invocation = noah.tool.invocation(workload, roots.paths[workload.root]);
        invocation.env = { NOAH_STATS: '1' };
        const result = await runTimed(invocation, workload.timeoutSeconds);
        results[index].counters = parseCounters(result.stderr);
      }
    }

    const report: BenchResults = {
      date: new Date().toISOString(),
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, ''),
      quick: options.quick,
      runsPerTool: options.runs,
      durationSeconds: (Date.now() - started) / 1000,
      machine: describeMachine(),
      roots: roots.fixtures,
      tools: checked.map((tool) => ({
        name: tool.tool.name,
        version: tool.version,
        note: tool.tool.note,
        error: tool.error,
      })),
      workloads: results,
    };
    console.log(terminalReport(report));
    fs.writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwrote ${options.json}`);
    if (options.markdown !== undefined) {
      fs.writeFileSync(options.markdown, markdownReport(report, report.command));
      formatMarkdown(options.markdown);
      console.log(`wrote ${options.markdown}`);
    }
  } finally {
    release();
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
