import type { InferenceResponse, JobStatusResponse, ModelStatus, SystemStatus } from '../../client/types.js';
import { formatTable } from './format.js';

/** Plain-text renderings of what the daemon answers (ps, status, infer, jobs, top's snapshot). */

/** Megabytes as `512 MB` or `1.5 GB` (runner RSS in MiB, as the daemon reports it). */
export function formatMb(mb: number): string {
  if (!Number.isFinite(mb) || mb <= 0) return '0 MB';
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${Math.round(mb)} MB`;
}

/** A span in words, as `ollama ps` writes them: `45 seconds`, `4 minutes`, `2 hours`. */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (s < 60) return s <= 1 ? 'about a second' : unit(s, 'second');
  if (s < 3600) return unit(Math.floor(s / 60), 'minute');
  if (s < 86_400) return unit(Math.floor(s / 3600), 'hour');
  return unit(Math.floor(s / 86_400), 'day');
}

export function formatAgo(iso: string | undefined, now: number): string {
  if (!iso) return '-';
  const at = Date.parse(iso);
  return Number.isNaN(at) ? '-' : `${formatSpan(now - at)} ago`;
}

/** When keep_alive will unload the model: forever (pinned), busy, or `4 minutes from now`. */
export function formatUntil(model: ModelStatus, now: number): string {
  if (model.pinned) return 'forever';
  if ((model.in_flight ?? 0) > 0) return `busy (${model.in_flight} in flight)`;
  if (model.state !== 'loaded') return '-';
  if (!model.expires_at) return '-';
  const at = Date.parse(model.expires_at);
  if (Number.isNaN(at)) return '-';
  return at <= now ? 'now' : `${formatSpan(at - now)} from now`;
}

export function psTable(models: readonly ModelStatus[], now: number): string {
  return formatTable(
    ['NAME', 'STATE', 'MEMORY', 'DEVICE', 'LAST USED', 'UNTIL'],
    models.map((m) => [m.model_id, m.state, formatMb(m.memory_usage_mb), m.device, formatAgo(m.last_used_at ?? m.loaded_at, now), formatUntil(m, now)]),
  );
}

export function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return m > 0 ? `${m}m ${s}s` : `${s}s`;
}

export function statusText(status: SystemStatus): string {
  const q = status.queue_depth;
  const loaded = status.loaded_models.filter((m) => m.state === 'loaded').length;
  return [
    `version     ${status.version}`,
    `uptime      ${formatUptime(status.uptime_seconds)}`,
    `memory      ${formatMb(status.memory.used_mb)} of ${formatMb(status.memory.threshold_mb)} budget (machine ${formatMb(status.memory.total_mb)}, ${formatMb(status.memory.available_mb)} available to models)`,
    `models      ${loaded} loaded${status.loaded_models.length > loaded ? `, ${status.loaded_models.length - loaded} loading or unhealthy` : ''}`,
    `queue       high ${q.high_priority}, medium ${q.medium_priority}, low ${q.low_priority}`,
  ].join('\n');
}

/** An embedding in one line: the first values and the dimension. */
export function embeddingSummary(values: readonly number[], shown = 6): string {
  const head = values.slice(0, shown).map((v) => (Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 1e-4) ? v.toExponential(2) : v.toFixed(4)));
  return `[${head.join(', ')}${values.length > shown ? ', ...' : ''}] (${values.length} dims)`;
}

/** What an inference produced, for a terminal: embeddings compact, texts as they are. */
export function outputText(response: InferenceResponse): string {
  const out = response.output_data;
  if (out.embedding) return embeddingSummary(out.embedding);
  if (out.embeddings) return out.embeddings.map((e, i) => `${i}: ${embeddingSummary(e)}`).join('\n');
  if (out.text !== undefined) return out.text;
  if (out.texts) return out.texts.join('\n');
  if (out.image_url) return out.image_url;
  const images = out.image_base64 ? [out.image_base64] : (out.images_base64 ?? []);
  if (images.length > 0) return `${images.length} image${images.length === 1 ? '' : 's'} (use --output FILE to save, or --json)`;
  return '(no output)';
}

export function jobsTable(jobs: readonly JobStatusResponse[], now: number): string {
  return formatTable(
    ['JOB', 'MODEL', 'STATUS', 'PROGRESS', 'PRIORITY', 'CREATED'],
    jobs.map((j) => [j.job_id, j.model_id, j.status, `${Math.round(j.progress ?? 0)}%`, j.priority ?? '-', formatAgo(j.created_at, now)]),
  );
}

export function jobText(job: JobStatusResponse, now: number): string {
  const lines = [
    `job         ${job.job_id}`,
    `model       ${job.model_id}`,
    `status      ${job.status}`,
    `progress    ${Math.round(job.progress ?? 0)}%`,
    `created     ${formatAgo(job.created_at, now)}`,
  ];
  if (job.started_at) lines.push(`started     ${formatAgo(job.started_at, now)}`);
  if (job.completed_at) lines.push(`finished    ${formatAgo(job.completed_at, now)}`);
  if (job.error) lines.push(`error       ${job.error.message} (${job.error.error_code})`);
  return lines.join('\n');
}
