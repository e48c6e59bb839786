import type { SystemStatus } from '../../client/types.js';
import { formatAgo, formatMb, formatUptime } from './daemon-format.js';
import { formatTable } from './format.js';

/**
 * What `top` shows, computed from successive samples of GET /status and GET /metrics: memory
 * against the budget, queue depth per priority, requests per second (from the growth of
 * modelmora_requests_total between two scrapes) and the most recent failed requests. Pure, so
 * the ink view and the plain snapshot print the same lines.
 */

export interface TopSample {
  /** ms since the epoch, when the sample was taken. */
  at: number;
  status: SystemStatus;
  /** modelmora_requests_total, keyed `model_id\tstatus`. */
  requests: Map<string, number>;
}

export interface RecentError {
  at: number;
  model_id: string;
  status: string;
  count: number;
}

export interface TopSnapshot {
  url: string;
  sample: TopSample;
  /** All models, per second, over the last interval; null before a second sample. */
  rps: number | null;
  rpsByModel: Map<string, number>;
  requestsTotal: number;
  recentErrors: RecentError[];
  /** Set when the last refresh failed (the lines show the previous sample). */
  error?: string;
}

const KEEP_ERRORS = 5;

export class TopTracker {
  private previous: TopSample | undefined;
  private readonly errors: RecentError[] = [];

  constructor(private readonly url: string) {}

  update(sample: TopSample): TopSnapshot {
    const before = this.previous;
    const rpsByModel = new Map<string, number>();
    let rps: number | null = null;
    if (before && sample.at > before.at) {
      const seconds = (sample.at - before.at) / 1000;
      rps = 0;
      for (const [key, value] of sample.requests) {
        // A counter that went down means the daemon restarted: count from zero.
        const grown = value >= (before.requests.get(key) ?? 0) ? value - (before.requests.get(key) ?? 0) : value;
        if (grown <= 0) continue;
        const [model = '', status = ''] = key.split('\t');
        rps += grown / seconds;
        rpsByModel.set(model, (rpsByModel.get(model) ?? 0) + grown / seconds);
        if (status !== 'success') this.errors.unshift({ at: sample.at, model_id: model, status, count: grown });
      }
      this.errors.splice(KEEP_ERRORS);
    }
    this.previous = sample;
    let requestsTotal = 0;
    for (const value of sample.requests.values()) requestsTotal += value;
    return { url: this.url, sample, rps, rpsByModel, requestsTotal, recentErrors: [...this.errors] };
  }
}

/** The modelmora_requests_total samples of a Prometheus text exposition. */
export function requestCounters(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('modelmora_requests_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = labelsOf(line.slice('modelmora_requests_total{'.length, close));
    const value = Number(line.slice(close + 1).trim().split(' ')[0]);
    if (!Number.isFinite(value)) continue;
    out.set(`${labels.model_id ?? ''}\t${labels.status ?? ''}`, value);
  }
  return out;
}

function labelsOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return out;
}

/** A bar of `width` cells, `fraction` of them full. */
export function bar(fraction: number, width: number): string {
  const full = Math.max(0, Math.min(width, Math.round((Number.isFinite(fraction) ? fraction : 0) * width)));
  return '█'.repeat(full) + '░'.repeat(width - full);
}

export interface TopLines {
  header: string;
  summary: string[];
  table: string;
  errors: string[];
}

export function topLines(snapshot: TopSnapshot, now: number): TopLines {
  const { status } = snapshot.sample;
  const budget = status.memory.threshold_mb;
  const used = status.memory.used_mb;
  const q = status.queue_depth;
  const rate = (n: number | null | undefined) => (n === null || n === undefined ? '-' : n.toFixed(1));
  const summary = [
    `Memory    ${bar(budget > 0 ? used / budget : 0, 24)}  ${formatMb(used)} of ${formatMb(budget)} budget`,
    `Queue     high ${q.high_priority}  medium ${q.medium_priority}  low ${q.low_priority}`,
    `Requests  ${rate(snapshot.rps)}/s  (${snapshot.requestsTotal} since start)`,
  ];
  const table =
    status.loaded_models.length === 0
      ? 'no models loaded'
      : formatTable(
          ['MODEL', 'STATE', 'MEMORY', 'OF BUDGET', 'REQ/S', 'IN FLIGHT', 'LAST USED'],
          status.loaded_models.map((m) => {
            const share = budget > 0 ? m.memory_usage_mb / budget : 0;
            return [
              m.model_id,
              m.state,
              formatMb(m.memory_usage_mb),
              `${bar(share, 10)} ${Math.round(share * 100)}%`,
              snapshot.rps === null ? '-' : rate(snapshot.rpsByModel.get(m.model_id) ?? 0),
              String(m.in_flight ?? 0),
              formatAgo(m.last_used_at ?? m.loaded_at, now),
            ];
          }),
        );
  const errors = snapshot.recentErrors.map(
    (e) => `${new Date(e.at).toISOString().slice(11, 19)}  ${e.model_id}  ${e.status}${e.count > 1 ? ` x${e.count}` : ''}`,
  );
  return {
    header: `ModelMora ${status.version} at ${snapshot.url}  up ${formatUptime(status.uptime_seconds)}`,
    summary,
    table,
    errors,
  };
}

/** The plain snapshot printed when stdout is not a terminal. */
export function topText(snapshot: TopSnapshot, now: number): string {
  const lines = topLines(snapshot, now);
  return [lines.header, '', ...lines.summary, '', lines.table, '', 'Recent errors', ...(lines.errors.length > 0 ? lines.errors : ['none'])].join('\n');
}
