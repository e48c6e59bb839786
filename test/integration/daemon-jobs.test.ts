import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEMO_MODEL, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { parsePrometheus, sampleValue } from '../support/prom-parse.js';

// Async jobs against a real daemon and the demo model: results equal sync results, a cancelled
// queued job never runs, and accepted jobs survive kill -9. Nothing here measures time: a slow
// input (many long texts in one runner call) holds the runner busy while the test acts, and
// --job-concurrency 1 keeps every other job waiting in the job queue meanwhile.

const MODEL = 'demo';
const FLAGS = ['--max-batch-size', '1', '--job-concurrency', '1', '--priority-aging-ms', '0', '--body-limit-mb', '8', '--max-inputs', '256', '--runner-threads', '1'];
const PRIORITIES = ['high', 'medium', 'low'] as const;

interface JobStatus {
  job_id: string;
  status: string;
  progress: number;
  priority: string;
  created_at: string;
  started_at?: string;
  completed_at?: string;
  error?: { error_code: string };
}
interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

async function call<T = Record<string, unknown>>(api: string, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const res = await fetch(`${api}${path}`, {
    method,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

/** Polls until `check` returns a value (at most 120 s, every 50 ms). */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 2400; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function slowInput(): { input_data: { text: string[] }; priority: 'high' } {
  const word = (i: number) => ['river', 'mountain', 'quiet', 'morning', 'light', 'stone'][i % 6]!;
  const text = (n: number) => Array.from({ length: 4000 }, (_, i) => word(i + n)).join(' ');
  return { input_data: { text: Array.from({ length: 256 }, (_, i) => text(i)) }, priority: 'high' };
}

async function submit(api: string, body: unknown): Promise<string> {
  const res = await call<{ job_id: string; status: string; status_url: string }>(api, 'POST', `/infer/${MODEL}/async`, body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal(res.body.status, 'queued');
  assert.equal(res.headers.get('location'), res.body.status_url);
  return res.body.job_id;
}

async function jobStatus(api: string, id: string): Promise<JobStatus> {
  const res = await call<JobStatus>(api, 'GET', `/jobs/${id}`);
  assert.equal(res.status, 200);
  return res.body;
}

async function allFinished(api: string, ids: readonly string[]): Promise<Map<string, JobStatus>> {
  return waitFor(`${ids.length} jobs to finish`, async () => {
    const out = new Map<string, JobStatus>();
    for (const id of ids) {
      const s = await jobStatus(api, id);
      if (!['completed', 'failed', 'cancelled'].includes(s.status)) return undefined;
      out.set(id, s);
    }
    return out;
  });
}

async function batches(api: string): Promise<number> {
  const text = await (await fetch(`${api.replace(/\/api\/v1$/, '')}/metrics`)).text();
  try {
    return sampleValue(parsePrometheus(text), 'modelmora_batch_size_count', { model_id: MODEL });
  } catch {
    return 0; // no batch yet: the series does not exist
  }
}

const syncOutput = async (api: string, text: string) => (await call<{ output_data: unknown }>(api, 'POST', `/infer/${MODEL}`, { input_data: { text } })).body.output_data;
const resultOutput = async (api: string, id: string) => {
  const res = await call<{ output_data: unknown; model_id: string }>(api, 'GET', `/jobs/${id}/result`);
  assert.equal(res.status, 200);
  assert.equal(res.body.model_id, MODEL);
  return res.body.output_data;
};

describe('async jobs on a real daemon', () => {
  let daemon: DaemonProcess;
  before(async () => {
    daemon = await startDaemon({ models: [{ id: MODEL, task: 'txt2embed', source: DEMO_MODEL }], args: FLAGS });
    assert.equal((await call(daemon.api, 'POST', `/infer/${MODEL}`, { input_data: { text: 'warm up' } })).status, 200);
  });
  after(async () => {
    await daemon?.stop();
  });

  it('20 jobs at mixed priorities all complete, each with the sync result of its input', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `job number ${i} about the ${['sea', 'forest', 'city', 'sky'][i % 4]}`);
    const ids: string[] = [];
    for (const [i, text] of texts.entries()) ids.push(await submit(daemon.api, { input_data: { text }, priority: PRIORITIES[i % 3] }));
    const finished = await allFinished(daemon.api, ids);
    for (const [i, id] of ids.entries()) {
      const s = finished.get(id)!;
      assert.equal(s.status, 'completed', `job ${i}: ${JSON.stringify(s)}`);
      assert.equal(s.progress, 100);
      assert.equal(s.priority, PRIORITIES[i % 3]);
      assert.deepEqual(await resultOutput(daemon.api, id), await syncOutput(daemon.api, texts[i]!));
    }
    const listed = await call<{ data: JobStatus[] }>(daemon.api, 'GET', `/jobs?status=completed&model_id=${MODEL}&limit=1000`);
    assert.ok(ids.every((id) => listed.body.data.some((j) => j.job_id === id)));
  });

  it('a cancelled queued job never runs; an unfinished job answers 409 JOB_NOT_READY', async () => {
    const before = await batches(daemon.api);
    const slow = await submit(daemon.api, slowInput());
    const victim = await submit(daemon.api, { input_data: { text: 'never run me' }, priority: 'high' });
    assert.equal((await jobStatus(daemon.api, victim)).status, 'queued', 'waits behind the slow job (one job slot)');
    const cancel = await call(daemon.api, 'DELETE', `/jobs/${victim}`);
    assert.equal(cancel.status, 200);
    assert.deepEqual(cancel.body, { job_id: victim, status: 'cancelled' });

    const notReady = await call<{ error_code: string; status: string }>(daemon.api, 'GET', `/jobs/${slow}/result`);
    assert.equal(notReady.status, 409);
    assert.equal(notReady.body.error_code, 'JOB_NOT_READY');
    assert.ok(['queued', 'processing'].includes(notReady.body.status), notReady.body.status);

    const done = await allFinished(daemon.api, [slow]);
    assert.equal(done.get(slow)!.status, 'completed');
    const victimStatus = await jobStatus(daemon.api, victim);
    assert.equal(victimStatus.status, 'cancelled');
    assert.equal(victimStatus.started_at, undefined, 'never handed to the engine');
    // The document's statuses (§5.1) have no 499: a cancelled job's result is a 409 like an unfinished one's.
    const victimResult = await call<{ error_code: string; status: string }>(daemon.api, 'GET', `/jobs/${victim}/result`);
    assert.equal(victimResult.status, 409);
    assert.equal(victimResult.body.error_code, 'JOB_CANCELLED');
    assert.equal(victimResult.body.status, 'cancelled');
    assert.equal(await batches(daemon.api), before + 1, 'one runner call: the slow job only');
    const again = await call<{ error_code: string }>(daemon.api, 'DELETE', `/jobs/${slow}`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error_code, 'JOB_ALREADY_FINISHED');
  });
});

describe('jobs survive kill -9', () => {
  let first: DaemonProcess | undefined;
  let second: DaemonProcess | undefined;
  after(async () => {
    if (first && first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL');
    await second?.stop();
  });

  it('every accepted job completes after a restart, none twice, and old results are still served', async () => {
    const models = [{ id: MODEL, task: 'txt2embed', source: DEMO_MODEL }];
    first = await startDaemon({ models, args: FLAGS });
    const api1 = first.api;
    const early = await submit(api1, { input_data: { text: 'finished before the crash' } });
    const earlyStatus = (await allFinished(api1, [early])).get(early)!;
    assert.equal(earlyStatus.status, 'completed');
    const earlyResult = await resultOutput(api1, early);

    // The slow job holds the runner; the others wait in the job queue when the daemon dies.
    const slow = await submit(api1, slowInput());
    const texts = Array.from({ length: 20 }, (_, i) => `accepted job ${i} before the kill`);
    const ids: string[] = [];
    for (const [i, text] of texts.entries()) ids.push(await submit(api1, { input_data: { text }, priority: PRIORITIES[i % 3] }));
    const seenBefore = (await call<{ data: JobStatus[] }>(api1, 'GET', '/jobs?limit=1000')).body.data;
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');

    second = await startDaemon({ models, args: FLAGS, home: first.home, dir: first.dir });
    const api2 = second.api;
    const finished = await allFinished(api2, [slow, ...ids]);
    for (const id of [slow, ...ids]) assert.equal(finished.get(id)!.status, 'completed', `${id}: ${JSON.stringify(finished.get(id))}`);
    // A job seen completed before the kill was not run again: same completion, same values.
    const earlyAfter = await jobStatus(api2, early);
    assert.equal(earlyAfter.status, 'completed');
    assert.equal(earlyAfter.completed_at, earlyStatus.completed_at);
    assert.deepEqual(await resultOutput(api2, early), earlyResult);
    for (const job of seenBefore.filter((j) => j.status === 'completed')) {
      assert.equal((await jobStatus(api2, job.job_id)).completed_at, job.completed_at, `${job.job_id} completed once`);
    }
    // Each job the new daemon ran went through the runner exactly once (one input per call).
    const rerun = [slow, ...ids].filter((id) => !seenBefore.some((j) => j.job_id === id && j.status === 'completed'));
    assert.equal(await batches(api2), rerun.length);
    const listed = (await call<{ data: JobStatus[] }>(api2, 'GET', '/jobs?limit=1000')).body.data;
    assert.equal(listed.length, 22, 'none lost, none duplicated');
    for (const [i, id] of ids.entries()) assert.deepEqual(await resultOutput(api2, id), await syncOutput(api2, texts[i]!));
  });
});
