/** Medians, extremes and percentiles of measured runs, and the A/B alternation every row uses. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Every measured run, in order (warm-ups excluded). */
  runs: number[];
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('no measured runs');
  const sorted = [...values].sort((a, b) => a - b);
  return { median: percentile(sorted, 50), min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: [...values] };
}

/** Linear-interpolated percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function percentileOf(values: readonly number[], p: number): number {
  return percentile([...values].sort((a, b) => a - b), p);
}

export interface AlternateOptions {
  runs: number;
  warmups: number;
  /** Called before each run (progress line). */
  log?: (line: string) => void;
  /** Awaited before each run (warm-ups too): e.g. until the last run's work has drained. */
  settle?: () => Promise<void>;
}

/**
 * Runs each measurement in turn — A, B, (C…), A, B, … — so drift on a shared machine (other
 * processes, thermal state, page cache) lands on every side alike. The first `warmups` rounds
 * are thrown away. Each function returns one number: that run's value.
 */
export async function alternate<K extends string>(
  sides: Record<K, () => Promise<number>>,
  options: AlternateOptions,
): Promise<Record<K, Summary>> {
  const names = Object.keys(sides) as K[];
  const measured = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < options.warmups + options.runs; round++) {
    const warm = round < options.warmups;
    for (const name of names) {
      await options.settle?.();
      const value = await sides[name]();
      options.log?.(`  ${warm ? 'warm-up' : `run ${round - options.warmups + 1}/${options.runs}`} ${name}: ${formatNumber(value)}`);
      if (!warm) measured[name].push(value);
    }
  }
  return Object.fromEntries(names.map((n) => [n, summarize(measured[n])])) as Record<K, Summary>;
}

/** 3 significant digits, thousands grouped: 1234567 -> "1,230,000", 0.01234 -> "0.0123". */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  const rounded = Number(value.toPrecision(3));
  return rounded.toLocaleString('en-US', { maximumFractionDigits: Math.min(digits, 6), minimumFractionDigits: 0 });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
