/** Row results, the machine they ran on, and bench/results/latest.md + latest.json. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatNumber, type Summary } from './stats.js';

export interface Measure {
  /** What was measured, e.g. "ModelMora REST, 64 clients". */
  label: string;
  unit: string;
  summary: Summary;
}

export type RowStatus = 'measured' | 'pending' | 'failed';

export interface RowResult {
  /** The row number: "1", "3b", "8b". */
  id: string;
  what: string;
  a?: Measure | undefined;
  b?: Measure | undefined;
  /** A/B of the medians, or A-B for a difference (row 10). */
  ratio?: { kind: 'A/B' | 'A-B'; value: number; unit?: string } | undefined;
  target: string;
  /** null: nothing to judge (report-only, pending or failed). */
  met: boolean | null;
  status: RowStatus;
  notes: string[];
}

export interface MachineInfo {
  cores: number;
  cpu: string;
  memory_gb: number;
  node: string;
  platform: string;
  date: string;
  mode: 'quick' | 'full';
  commit: string | null;
  load_average_at_start: number[];
}

export function machineInfo(mode: 'quick' | 'full', repo: string): MachineInfo {
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    commit = null;
  }
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memory_gb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString(),
    mode,
    commit,
    load_average_at_start: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** A measured comparison: ratio of medians and whether `check` accepts it. */
export function compareRow(fields: {
  id: string;
  what: string;
  target: string;
  a: Measure;
  b: Measure;
  kind?: 'A/B' | 'A-B';
  check: (ratio: number) => boolean;
  notes?: string[];
}): RowResult {
  const kind = fields.kind ?? 'A/B';
  const value = kind === 'A/B' ? fields.a.summary.median / fields.b.summary.median : fields.a.summary.median - fields.b.summary.median;
  return {
    id: fields.id,
    what: fields.what,
    a: fields.a,
    b: fields.b,
    ratio: kind === 'A/B' ? { kind, value } : { kind, value, unit: fields.a.unit },
    target: fields.target,
    met: fields.check(value),
    status: 'measured',
    notes: fields.notes ?? [],
  };
}

/** A single measured value held against its target (no B side): `met` is the judgement. */
export function measuredRow(fields: { id: string; what: string; target: string; a: Measure; met: boolean; notes?: string[] }): RowResult {
  return { id: fields.id, what: fields.what, a: fields.a, target: fields.target, met: fields.met, status: 'measured', notes: fields.notes ?? [] };
}

export function pendingRow(id: string, what: string, target: string, why: string): RowResult {
  return { id, what, target, met: null, status: 'pending', notes: [why] };
}

export function failedRow(id: string, what: string, target: string, err: unknown): RowResult {
  const message = err instanceof Error ? err.message : String(err);
  return { id, what, target, met: null, status: 'failed', notes: [`failed: ${message.slice(0, 500)}`] };
}

function cell(m: Measure | undefined): string {
  if (!m) return '—';
  const s = m.summary;
  return `${formatNumber(s.median)} ${m.unit} (${formatNumber(s.min)}–${formatNumber(s.max)}, n=${s.runs.length})<br><sub>${m.label}</sub>`;
}

function ratioCell(row: RowResult): string {
  if (!row.ratio) return '—';
  if (row.ratio.kind === 'A/B') return formatNumber(row.ratio.value);
  return `${formatNumber(row.ratio.value)} ${row.ratio.unit ?? ''} (A−B)`.trim();
}

function metCell(row: RowResult): string {
  if (row.status === 'pending') return 'pending';
  if (row.status === 'failed') return 'failed';
  if (row.met === null) return 'report';
  return row.met ? 'yes' : '**no**';
}

export function renderMarkdown(rows: readonly RowResult[], machine: MachineInfo): string {
  const lines = [
    '# ModelMora benchmarks — latest run',
    '',
    `${machine.date} · ${machine.mode} mode · ${machine.cores} cores (${machine.cpu}) · ${machine.memory_gb} GB · node ${machine.node} · ${machine.platform}` +
      (machine.commit ? ` · commit ${machine.commit}` : ''),
    `Load average at start: ${machine.load_average_at_start.join(', ')}. Medians of the measured runs (min–max, n runs); A and B alternate, warm-ups excluded.`,
    '',
    '| # | what | A | B | ratio | target | met |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.id} | ${r.what} | ${cell(r.a)} | ${cell(r.b)} | ${ratioCell(r)} | ${r.target} | ${metCell(r)} |`),
    '',
    '## Notes',
    '',
    ...rows.filter((r) => r.notes.length > 0).flatMap((r) => [`- **${r.id}** ${r.notes.join(' ')}`]),
    '',
    'Reproduce: `npm run bench` (full) or `npm run bench -- --quick`; `--only 1,3b` runs some rows.',
    '',
  ];
  return lines.join('\n');
}

export async function writeResults(dir: string, rows: readonly RowResult[], machine: MachineInfo): Promise<{ md: string; json: string }> {
  await fs.mkdir(dir, { recursive: true });
  const md = path.join(dir, 'latest.md');
  const json = path.join(dir, 'latest.json');
  // Write then rename, so a reader never sees half a file.
  await fs.writeFile(`${md}.tmp`, renderMarkdown(rows, machine));
  await fs.writeFile(`${json}.tmp`, `${JSON.stringify({ machine, rows }, null, 2)}\n`);
  await fs.rename(`${md}.tmp`, md);
  await fs.rename(`${json}.tmp`, json);
  return { md, json };
}
