/**
 * CPU time of processes, from /proc (Linux). On a shared machine wall-clock throughput depends
 * on what else runs; CPU time per request much less so, which makes it the number to read
 * when asking where the cost is.
 */
import fs from 'node:fs/promises';

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux the bench runs on. */
const TICKS_PER_SECOND = 100;

/** utime + stime of each pid (a pid that is gone counts 0), in ms. */
export async function cpuMs(pids: readonly number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks / TICKS_PER_SECOND) * 1000;
}

/** Busy and total clock ticks of the whole machine so far (/proc/stat's first line). */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await fs.readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
  // cpu  user nice system idle iowait irq softirq steal ...
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/**
 * Waits until the machine is quiet: under `share` of its CPU busy over a 200 ms window, for at
 * most `maxMs`. When a load run ends, its server still finishes what was in flight: the naive
 * server's 64 concurrent pipeline calls kept both cores busy ~0.25 s into the next side's run,
 * which then measured 10-25% low.
 */
export async function untilQuiet(maxMs = 5000, share = 0.15): Promise<void> {
  const until = performance.now() + maxMs;
  let last = await machineTicks();
  while (performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = await machineTicks();
    const total = now.total - last.total;
    if (total > 0 && (now.busy - last.busy) / total < share) return;
    last = now;
  }
}

/**
 * Runs `work` and returns its result with the CPU ms each named process group spent meanwhile,
 * and the wall-clock ms it took.
 */
export async function withCpu<T, K extends string>(
  groups: Record<K, () => Promise<readonly number[]> | readonly number[]>,
  work: () => Promise<T>,
): Promise<{ result: T; cpu: Record<K, number>; wallMs: number }> {
  const names = Object.keys(groups) as K[];
  const pids = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await groups[n]()]))) as Record<K, readonly number[]>;
  const before = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await cpuMs(pids[n])]))) as Record<K, number>;
  const started = performance.now();
  const result = await work();
  const wallMs = performance.now() - started;
  const cpu = Object.fromEntries(await Promise.all(names.map(async (n) => [n, (await cpuMs(pids[n])) - before[n]]))) as Record<K, number>;
  return { result, cpu, wallMs };
}

/** Median CPU microseconds per unit of work over runs: e.g. per request. */
export class CpuPerUnit {
  private readonly samples = new Map<string, number[]>();
  add(name: string, cpuMsSpent: number, units: number): void {
    if (units <= 0) return;
    const list = this.samples.get(name) ?? [];
    list.push((cpuMsSpent * 1000) / units);
    this.samples.set(name, list);
  }
  /** The median µs per unit of `name`'s runs (NaN before any). */
  median(name: string): number {
    const sorted = [...(this.samples.get(name) ?? [])].sort((a, b) => a - b);
    return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)]!;
  }
  /** "name 123 µs, other 45 µs" with medians. */
  describe(): string {
    return [...this.samples.keys()].map((name) => `${name} ${Math.round(this.median(name))} µs`).join(', ');
  }
}
