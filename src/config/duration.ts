/**
 * Durations as Ollama's keep_alive writes them: `-1` (forever), `0`, a number of seconds, or
 * Go-style `1h30m`, `5m`, `250ms`. Returned in milliseconds; -1 means forever.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(value: unknown): number {
  if (typeof value === 'number') {
    if (value < 0) return -1;
    if (!Number.isFinite(value)) throw new Error('expected a duration');
    return value * 1000;
  }
  if (typeof value !== 'string') throw new Error('expected a duration like 5m, 1h or -1');
  const text = value.trim();
  if (/^-\d+(\.\d+)?$/.test(text)) return -1;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`'${text.slice(0, 40)}' is not a duration (try 30s, 5m, 1h or -1)`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2] as string]!, 0);
}

export function formatDuration(ms: number): string {
  if (ms < 0) return 'forever';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
}
