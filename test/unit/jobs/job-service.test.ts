import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import type { InferenceRequest, InferenceResult } from '../../../src/domain/inference.js';
import type { Priority } from '../../../src/domain/task-type.js';
import { DurableJobService, type JobServiceOptions } from '../../../src/jobs/job-service.js';
import { LogJobStore } from '../../../src/jobs/log-job-store.js';
import { ManualClock, settle } from '../../fixtures/manual-clock.js';
import { FakeEngine } from '../../support/fake-engine.js';

const HOUR = 3_600_000;

function request(text: string, priority: Priority = 'medium', modelId = 'org/embed'): InferenceRequest {
  return { modelId, items: [{ kind: 'text', text }], batched: false, parameters: {}, priority, timeoutSeconds: 60 };
}

/** A promise the test settles by hand. */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(err: Error): void } {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function embeddingResult(req: InferenceRequest, values: number[]): InferenceResult {
  return {
    modelId: req.modelId,
    taskType: 'txt2embed',
    batched: false,
    outputs: [{ kind: 'embedding', embedding: Float32Array.from(values) }],
    metadata: { inference_time_ms: 1, total_time_ms: 2, batch_size: 1, device: 'cpu' },
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<ModelMoraError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ModelMoraError, `not a ModelMoraError: ${String(err)}`);
    assert.equal(err.code, code);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('DurableJobService', () => {
  let dir: string;
  let clock: ManualClock;
  let engine: FakeEngine;
  let stores: LogJobStore[];
  let services: DurableJobService[];
  let ids: number;

  const newService = async (options: Partial<JobServiceOptions> = {}) => {
    const store = await LogJobStore.open(dir);
    stores.push(store);
    const service = new DurableJobService({
      engine,
      store,
      clock,
      retentionMs: 24 * HOUR,
      newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
      ...options,
    });
    services.push(service);
    return { service, store };
  };
  /** Simulates kill -9: the store is dropped without a drain (its writes so far are on disk). */
  const crash = async () => {
    for (const s of services.splice(0)) void s;
    for (const s of stores.splice(0)) await s.close();
  };

  /** Lets fake engine calls settle and every store write they cause reach the disk. */
  const idle = async () => {
    for (let i = 0; i < 3; i++) {
      await settle();
      for (const s of services) await s.flushed();
    }
  };

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'modelmora-jobs-'));
    clock = new ManualClock(Date.UTC(2025, 0, 1));
    engine = new FakeEngine();
    stores = [];
    services = [];
    ids = 0;
  });
  afterEach(async () => {
    for (const s of services) await s.drain();
    for (const s of stores) await s.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('stores a job as queued before submit resolves, runs it and serves its result', async () => {
    const { service, store } = await newService();
    const view = await service.submit(request('hello big world'));
    assert.equal(view.status, 'queued');
    assert.equal(view.progress, 0);
    assert.equal(view.created_at, '2025-01-01T00:00:00.000Z');
    assert.ok(await store.get(view.job_id), 'on disk when submit resolved');
    await idle();
    const done = await service.get(view.job_id);
    assert.equal(done.status, 'completed');
    assert.equal(done.progress, 100);
    assert.equal(done.priority, 'medium');
    const result = await service.result(view.job_id);
    const out = result.outputs[0];
    assert.ok(out?.kind === 'embedding');
    assert.deepEqual(Array.from(out.embedding), [15, 3, 0.5]);
    assert.equal((await store.get(view.job_id))?.status, 'completed');
    assert.equal((await store.get(view.job_id))?.attempts, 1);
  });

  it('feeds the engine per model up to the cap, high priority first, FIFO within a level', async () => {
    const gates: Array<ReturnType<typeof deferred<void>>> = [];
    engine.behaviour = async (req) => {
      const gate = deferred<void>();
      gates.push(gate);
      await gate.promise;
      return embeddingResult(req, [1]);
    };
    const { service } = await newService({ concurrencyPerModel: 1 });
    const first = await service.submit(request('first', 'low'));
    const low = await service.submit(request('low', 'low'));
    const medium = await service.submit(request('medium', 'medium'));
    const high1 = await service.submit(request('high1', 'high'));
    const high2 = await service.submit(request('high2', 'high'));
    await service.submit(request('other model', 'low', 'org/other'));
    await idle();
    assert.deepEqual(engine.inferCalls.map((c) => c.request.items[0]), [{ kind: 'text', text: 'first' }, { kind: 'text', text: 'other model' }]);
    assert.equal((await service.get(first.job_id)).status, 'processing');
    assert.equal((await service.get(high1.job_id)).status, 'queued');
    assert.deepEqual(service.counts(), { waiting: 4, running: 2 });
    for (let i = 0; i < 10 && gates.length > 0; i++) {
      gates.shift()!.resolve();
      await idle();
    }
    const order = engine.inferCalls.map((c) => (c.request.items[0] as { text: string }).text);
    assert.deepEqual(order, ['first', 'other model', 'high1', 'high2', 'medium', 'low']);
    for (const id of [low, medium, high1, high2].map((v) => v.job_id)) assert.equal((await service.get(id)).status, 'completed');
  });

  it('cancel: a queued job never runs, a processing one is aborted, a finished one is 409', async () => {
    const first = deferred<InferenceResult>();
    engine.behaviour = async (req, signal) => {
      if ((req.items[0] as { text: string }).text === 'first') return first.promise;
      return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new ModelMoraError('CANCELLED', 'aborted'))));
    };
    const { service, store } = await newService({ concurrencyPerModel: 1 });
    const running = await service.submit(request('first'));
    const queued = await service.submit(request('second'));
    await idle();
    const cancelled = await service.cancel(queued.job_id);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal((await store.get(queued.job_id))?.status, 'cancelled');
    assert.equal((await rejectsWith(service.result(queued.job_id), 'JOB_CANCELLED')).details?.['status'], 'cancelled');
    first.resolve(embeddingResult(request('first'), [7]));
    await idle();
    assert.equal(engine.inferCalls.length, 1, 'the cancelled job never reached the engine');
    assert.equal((await service.get(running.job_id)).status, 'completed');
    const finished = await rejectsWith(service.cancel(running.job_id), 'JOB_ALREADY_FINISHED');
    assert.equal(finished.details?.['status'], 'completed');
    await rejectsWith(service.cancel(queued.job_id), 'JOB_ALREADY_FINISHED');

    const third = await service.submit(request('third'));
    await idle();
    assert.equal((await service.get(third.job_id)).status, 'processing');
    await service.cancel(third.job_id);
    await idle();
    assert.equal(engine.inferCalls.at(-1)?.signal?.aborted, true);
    assert.equal((await service.get(third.job_id)).status, 'cancelled');
    await rejectsWith(service.get('00000000-0000-4000-8000-999999999999'), 'JOB_NOT_FOUND');
    await rejectsWith(service.cancel('00000000-0000-4000-8000-999999999999'), 'JOB_NOT_FOUND');
  });

  it('result: JOB_NOT_READY with the status until done; a failed job answers its error', async () => {
    const gate = deferred<InferenceResult>();
    engine.behaviour = async (req) => {
      if ((req.items[0] as { text: string }).text === 'bad') throw new ModelMoraError('INFERENCE_FAILED', 'Runner crashed');
      return gate.promise;
    };
    const { service } = await newService({ concurrencyPerModel: 1 });
    const slow = await service.submit(request('slow'));
    const bad = await service.submit(request('bad'));
    await idle();
    assert.equal((await rejectsWith(service.result(slow.job_id), 'JOB_NOT_READY')).details?.['status'], 'processing');
    assert.equal((await rejectsWith(service.result(bad.job_id), 'JOB_NOT_READY')).details?.['status'], 'queued');
    gate.resolve(embeddingResult(request('slow'), [1, 2]));
    await idle();
    const failed = await service.get(bad.job_id);
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.error, { error_code: 'INFERENCE_FAILED', message: 'Runner crashed' });
    const err = await rejectsWith(service.result(bad.job_id), 'INFERENCE_FAILED');
    assert.equal(err.message, 'Runner crashed');
  });

  it('a job the engine turns away (queue full) waits and runs again instead of failing', async () => {
    let refusals = 1;
    engine.behaviour = async (req) => {
      if (refusals-- > 0) throw new ModelMoraError('RATE_LIMIT_EXCEEDED', 'Queue full', { details: { retry_after_seconds: 2 } });
      return embeddingResult(req, [3]);
    };
    const { service, store } = await newService();
    const job = await service.submit(request('busy'));
    await idle();
    assert.equal((await service.get(job.job_id)).status, 'queued');
    assert.equal(engine.inferCalls.length, 1);
    await clock.advance(1999);
    assert.equal(engine.inferCalls.length, 1, 'waits for Retry-After');
    await clock.advance(1);
    await idle();
    assert.equal(engine.inferCalls.length, 2);
    assert.equal((await service.get(job.job_id)).status, 'completed');
    assert.equal((await store.get(job.job_id))?.attempts, 2);
  });

  it('progress: the mean over items from progress events, 100 only on completion', async () => {
    const gate = deferred<void>();
    engine.behaviour = async (req, _signal, options) => {
      options.onProgress?.({ itemIndex: 0, progress: 100 });
      options.onProgress?.({ itemIndex: 1, step: 1, totalSteps: 4 });
      options.onProgress?.({ itemIndex: 7, progress: 50 }); // no such item: ignored
      await gate.promise;
      return embeddingResult(req, [1]);
    };
    const { service } = await newService();
    const job = await service.submit({ ...request('a'), items: [{ kind: 'text', text: 'a' }, { kind: 'text', text: 'b' }], batched: true });
    await idle();
    assert.equal((await service.get(job.job_id)).progress, 62);
    gate.resolve();
    await idle();
    assert.equal((await service.get(job.job_id)).progress, 100);
  });

  it('after a crash: queued and processing jobs run again, a completed one never does', async () => {
    const hang = deferred<InferenceResult>();
    engine.behaviour = async (req) => ((req.items[0] as { text: string }).text === 'done' ? embeddingResult(req, [4, 2]) : hang.promise);
    const { service } = await newService({ concurrencyPerModel: 2 });
    const done = await service.submit(request('done'));
    await idle();
    const processing = await service.submit(request('processing'));
    const processing2 = await service.submit(request('processing2'));
    const queued = await service.submit(request('queued'));
    await idle();
    assert.equal((await service.get(processing.job_id)).status, 'processing');
    assert.equal((await service.get(queued.job_id)).status, 'queued');
    await crash();

    engine = new FakeEngine();
    engine.behaviour = async (req) => embeddingResult(req, [(req.items[0] as { text: string }).text.length]);
    const { service: restarted, store } = await newService();
    assert.deepEqual(await restarted.start(), { resumed: 3, pruned: 0 });
    await idle();
    const ran = engine.inferCalls.map((c) => (c.request.items[0] as { text: string }).text);
    assert.deepEqual(ran, ['processing', 'processing2', 'queued'], 'oldest first, the completed job not again');
    for (const id of [processing.job_id, processing2.job_id, queued.job_id]) assert.equal((await restarted.get(id)).status, 'completed');
    assert.equal((await store.get(processing.job_id))?.attempts, 2, 'ran once before the crash, once after');
    assert.equal((await store.get(queued.job_id))?.attempts, 1);
    const kept = (await restarted.result(done.job_id)).outputs[0];
    assert.ok(kept?.kind === 'embedding');
    assert.deepEqual(Array.from(kept.embedding), [4, 2]);
  });

  it('retention prunes finished jobs on a timer, never unfinished ones, and not because of a restart', async () => {
    const hang = deferred<InferenceResult>();
    engine.behaviour = async (req) => ((req.items[0] as { text: string }).text === 'old' ? embeddingResult(req, [1]) : hang.promise);
    const { service } = await newService({ retentionMs: HOUR, pruneIntervalMs: 60_000 });
    await service.start();
    const old = await service.submit(request('old'));
    const waiting = await service.submit(request('waiting'));
    await idle();
    await clock.advance(HOUR - 60_000);
    assert.equal((await service.get(old.job_id)).status, 'completed');
    await crash();

    const { service: restarted } = await newService({ retentionMs: HOUR, pruneIntervalMs: 60_000 });
    assert.deepEqual(await restarted.start(), { resumed: 1, pruned: 0 });
    assert.equal((await restarted.get(old.job_id)).status, 'completed', 'a restart alone prunes nothing');
    await clock.advance(60_000);
    await idle();
    assert.equal((await restarted.get(old.job_id)).status, 'completed', 'exactly at the retention: kept');
    await clock.advance(60_000);
    await idle();
    await rejectsWith(restarted.get(old.job_id), 'JOB_NOT_FOUND');
    assert.equal((await restarted.get(waiting.job_id)).status, 'processing', 'unfinished jobs are never pruned');
    hang.resolve(embeddingResult(request('waiting'), [1]));
  });

  it('drain: no new jobs, waiting ones stay queued in the store for the next start', async () => {
    const gate = deferred<InferenceResult>();
    engine.behaviour = async () => gate.promise;
    const { service, store } = await newService({ concurrencyPerModel: 1 });
    const running = await service.submit(request('running'));
    const waiting = await service.submit(request('waiting'));
    await idle();
    const drained = service.drain();
    await rejectsWith(service.submit(request('late')), 'SERVICE_UNAVAILABLE');
    gate.resolve(embeddingResult(request('running'), [9]));
    await drained;
    assert.equal((await store.get(running.job_id))?.status, 'completed');
    assert.equal((await store.get(waiting.job_id))?.status, 'queued');
    assert.equal(engine.inferCalls.length, 1);
  });

  it('lists newest first, by status and model, with live state', async () => {
    const gate = deferred<InferenceResult>();
    engine.behaviour = async (req) => ((req.items[0] as { text: string }).text === 'slow' ? gate.promise : embeddingResult(req, [1]));
    const { service } = await newService();
    const a = await service.submit(request('fast'));
    await clock.advance(10);
    const b = await service.submit(request('slow'));
    await clock.advance(10);
    const c = await service.submit(request('fast', 'low', 'org/other'));
    await idle();
    assert.deepEqual((await service.list()).map((j) => j.job_id), [c.job_id, b.job_id, a.job_id]);
    assert.deepEqual((await service.list({ status: 'processing' })).map((j) => j.job_id), [b.job_id]);
    assert.deepEqual((await service.list({ model_id: 'org/other' })).map((j) => j.job_id), [c.job_id]);
    assert.deepEqual((await service.list({ limit: 1 })).map((j) => j.job_id), [c.job_id]);
    gate.resolve(embeddingResult(request('slow'), [2]));
    await idle();
  });
});
