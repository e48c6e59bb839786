import { setTimeout as sleep } from 'node:timers/promises';
import { parsePrometheus, type Family } from './prom-parse.js';

/**
 * Small HTTP helpers for the integration tests that talk to a real daemon (daemon-process.ts)
 * over 127.0.0.1: JSON calls, bounded polling, Prometheus scrapes, and inputs that keep a runner
 * busy long enough to observe a queue.
 */

export interface Reply<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One request; the body is sent as JSON when given, the answer parsed as JSON when it is JSON. */
export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  let parsed: unknown = undefined;
  if ((res.headers.get('content-type') ?? '').includes('json') && text.length > 0) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** Polls `probe` until it returns something other than undefined; fails after `tries` attempts. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, tries = 600, everyMs = 25): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(everyMs);
  }
  throw new Error(`gave up waiting for ${what}`);
}

export async function scrape(base: string): Promise<Map<string, Family>> {
  const res = await fetch(`${base}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parsePrometheus(await res.text());
}

/** Runner calls so far for a model: the _count of its batch size histogram (0 before the first). */
export function runnerCalls(families: Map<string, Family>, modelId: string): number {
  const sample = families
    .get('modelmora_batch_size')
    ?.samples.find((s) => s.name === 'modelmora_batch_size_count' && s.labels['model_id'] === modelId);
  return sample?.value ?? 0;
}

/** A sample's value, or 0 when the series does not exist yet (counters start absent). */
export function valueOr0(families: Map<string, Family>, name: string, labels: Record<string, string>): number {
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count|total)$/, ''));
  const found = family?.samples.find(
    (s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found?.value ?? 0;
}

export interface ModelState {
  model_id: string;
  state: string;
  memory_usage_mb: number;
  in_flight?: number;
  pinned?: boolean;
  /** Pid of the runner holding the model, while loaded. */
  pid?: number;
  health_status: { healthy: boolean; error_message?: string };
}

export interface SystemStatus {
  memory: { used_mb: number; threshold_mb: number; total_mb: number; available_mb: number };
  loaded_models: ModelState[];
  queue_depth: { high_priority: number; medium_priority: number; low_priority: number };
}

export async function status(api: string): Promise<SystemStatus> {
  const reply = await call<SystemStatus>(api, 'GET', '/status');
  if (reply.status !== 200) throw new Error(`/status answered ${reply.status}`);
  return reply.body;
}

export function modelState(s: SystemStatus, modelId: string): ModelState | undefined {
  return s.loaded_models.find((m) => m.model_id === modelId);
}

/** Waits until the model has a batch running on its runner (in_flight > 0 in /status). */
export function waitBusy(api: string, modelId: string): Promise<SystemStatus> {
  return waitFor(`${modelId} to have a request in flight`, async () => {
    const s = await status(api);
    return (modelState(s, modelId)?.in_flight ?? 0) > 0 ? s : undefined;
  });
}

/**
 * Common words and one accented word: a text that is not plain ASCII goes through the tokenizer
 * library, which reads every character (plain ASCII takes the runner's ~10x faster path,
 * ascii-wordpiece.ts, and would no longer keep a runner busy).
 */
const WORDS =
  'the stock market fell sharply as investors worried about rising interest rates and slowing growth while shares of banks dropped at the café'.split(' ');

/** A text of about `chars` characters of common words (the tokenizer has real work to do). */
export function longText(chars: number, seed = 0): string {
  let out = `${seed}`;
  for (let i = seed; out.length < chars; i++) out += ` ${WORDS[i % WORDS.length]}`;
  return out;
}

/**
 * An input that keeps a runner of the demo model busy for about a second on an idle 2-core
 * machine (256 texts of 16000 characters, 4 MB: the tokenizer reads every character before it
 * truncates to 512 tokens; time grows with the characters). Its duration is never asserted;
 * tests check through /status that the runner was still busy (in_flight) when it mattered, and
 * fail with a clear message if it was not.
 */
export function slowInput(chars = 16_000, texts = 256): { input_data: { text: string[] }; priority: 'high' } {
  return { input_data: { text: Array.from({ length: texts }, (_, i) => longText(chars, i)) }, priority: 'high' };
}

/** About two seconds (7 MB): for a test that needs the runner busy past a 1 s deadline. */
export const LONGER = 28_000;

/**
 * Serve flags a slow input needs: its body is above the default 1 MB and it has more inputs than
 * the default max_inputs (32); one thread leaves the other core to the test.
 */
export const SLOW_INPUT_FLAGS = ['--body-limit-mb', '8', '--max-inputs', '256', '--runner-threads', '1'];

export type Vector = number[];

export const norm = (v: Vector): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
export const cosine = (a: Vector, b: Vector): number => a.reduce((s, x, i) => s + x * b[i]!, 0) / (norm(a) * norm(b));
export const maxAbsDiff = (a: Vector, b: Vector): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
