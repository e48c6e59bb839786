/**
 * `npm run bench` (full) and `npm run bench -- --quick` (under 3 minutes on 2 cores): every row
 * of the benchmark table (issue 7) in one process tree, A and B alternating, warm-ups excluded,
 * medians of 5 or more runs with min and max. Writes bench/results/latest.md and latest.json.
 *
 *   --quick         5 runs of 1 s of load per side (full: 9 runs of 2 s)
 *   --only 1,3b,9a  just the row groups that produce these rows
 *   --update-readme copy the table into README.md's Performance section
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createContext, REPO, type BenchContext } from './harness/context.js';
import { failedRow, machineInfo, renderMarkdown, writeResults, type RowResult } from './harness/report.js';
import { batchingRows } from './rows/batching.js';
import { cliStartRows } from './rows/cli-start.js';
import { grpcRows } from './rows/grpc.js';
import { memoryRows } from './rows/memory.js';
import { overheadRows } from './rows/overhead.js';
import { priorityRows } from './rows/priority.js';
import { queueRows } from './rows/queue.js';
import { residencyRows } from './rows/residency.js';

/** Every row: its place in the table, and what to print if its group fails. */
const ROWS: { id: string; what: string; target: string }[] = [
  { id: '1', what: 'dynamic batching reaches the engine’s own limit', target: 'A/B >= 0.85' },
  { id: '2', what: 'better than the server a user would write', target: 'A/B >= 3' },
  { id: '3', what: 'server overhead on a light model', target: 'A/B >= 0.4' },
  { id: '3b', what: 'batching pays even on a light model', target: 'A/B >= 2' },
  { id: '4', what: 'gRPC unary is not slower', target: 'A/B >= 1.0' },
  { id: '5', what: 'large payloads stream near the transport’s limit', target: 'A/B >= 0.8 and A >= 320 MB/s' },
  { id: '6', what: 'the priority queue is never the bottleneck', target: '>= 5M ops/s, order correct in 100% of a mixed run' },
  { id: '7', what: 'high priority stays fast under low-priority flood', target: 'A/B <= 2' },
  { id: '8', what: 'LRU residency costs little', target: 'report' },
  { id: '8b', what: 'cold load of the demo model from cache', target: 'p50 <= 300 ms' },
  { id: '9a', what: 'memory: daemon RSS idle', target: '<= 150 MB' },
  { id: '9b', what: 'memory: runner RSS minus model weights (demo)', target: '<= 80 MB' },
  { id: '9c', what: 'memory: runner RSS minus model weights (MiniLM-cost)', target: '<= 80 MB' },
  { id: '10', what: 'CLI start', target: 'A − B <= 150 ms' },
];

/** Light and precise rows first, on a quiet machine; then the ones that need daemons. */
const GROUPS: { ids: string[]; run: (ctx: BenchContext) => Promise<RowResult[]> }[] = [
  { ids: ['10'], run: cliStartRows },
  { ids: ['6'], run: queueRows },
  { ids: ['9a', '9b', '9c'], run: memoryRows },
  { ids: ['1', '2'], run: batchingRows },
  { ids: ['3', '3b'], run: overheadRows },
  { ids: ['4', '5'], run: grpcRows },
  { ids: ['7'], run: priorityRows },
  { ids: ['8', '8b'], run: residencyRows },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, 'update-readme': { type: 'boolean', default: false } },
    strict: true,
  });
  const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : undefined;
  const started = performance.now();
  const log = (line: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${line}`);
  const mode = values.quick ? 'quick' : 'full';
  const machine = machineInfo(mode, REPO);
  log(`bench ${mode}: ${machine.cores} cores, ${machine.memory_gb} GB, node ${machine.node}, load ${machine.load_average_at_start.join(' ')}`);
  const ctx = createContext(values.quick ?? false, log);
  const rows: RowResult[] = [];
  const resultsDir = path.join(REPO, 'bench', 'results');
  try {
    for (const group of GROUPS) {
      if (only && !group.ids.some((id) => only.has(id))) continue;
      log(`rows ${group.ids.join(', ')}`);
      try {
        rows.push(...(await group.run(ctx)));
      } catch (err) {
        log(`rows ${group.ids.join(', ')} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        for (const id of group.ids) {
          const row = ROWS.find((r) => r.id === id)!;
          rows.push(failedRow(id, row.what, row.target, err));
        }
      }
      rows.sort((a, b) => ROWS.findIndex((r) => r.id === a.id) - ROWS.findIndex((r) => r.id === b.id));
      // After every group, so an interrupted run still leaves what it measured.
      await writeResults(resultsDir, rows, machine);
    }
  } finally {
    await ctx.close();
  }
  const { md } = await writeResults(resultsDir, rows, machine);
  log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s: ${path.relative(process.cwd(), md)}`);
  if (values['update-readme']) await updateReadme(renderMarkdown(rows, machine));
  for (const r of rows) {
    const verdict = r.status !== 'measured' ? r.status : r.met === null ? 'report' : r.met ? 'met' : 'MISSED';
    console.log(`  ${r.id.padEnd(3)} ${verdict.padEnd(8)} ${r.what}${r.ratio ? ` (${r.ratio.kind} ${r.ratio.value.toFixed(2)})` : ''}`);
  }
  if (rows.some((r) => r.status === 'failed')) process.exitCode = 1;
}

/** Replaces the README's text between the bench markers with this run's table and notes. */
async function updateReadme(markdown: string): Promise<void> {
  const readme = path.join(REPO, 'README.md');
  const text = await fs.readFile(readme, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error('README.md has no bench:start / bench:end markers');
  // Drop the document title; the README's section has its own heading.
  const body = markdown.replace(/^# .*\n\n/, '').replace(/^## Notes$/m, '#### Notes');
  await fs.writeFile(readme, `${text.slice(0, from + start.length)}\n${body}${text.slice(to)}`);
}

await main();
