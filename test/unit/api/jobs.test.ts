import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import type { InferenceResult } from '../../../src/domain/inference.js';
import { DurableJobService } from '../../../src/jobs/job-service.js';
import { LogJobStore } from '../../../src/jobs/log-job-store.js';
import { settle } from '../../fixtures/manual-clock.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { testApp, type TestApp } from '../../support/rest-app.js';

describe('async inference and /jobs routes', () => {
  let t: TestApp;
  let dir: string;
  let store: LogJobStore;
  let jobs: DurableJobService;
  let engine: FakeEngine;
  let gate: { promise: Promise<void>; open(): void };

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'modelmora-rest-jobs-'));
    store = await LogJobStore.open(dir);
    let open!: () => void;
    gate = { promise: new Promise<void>((resolve) => (open = resolve)), open: () => open() };
    engine = new FakeEngine();
    jobs = new DurableJobService({ engine, store, retentionMs: 3_600_000 });
    t = await testApp({ engine, jobs });
    await t.registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
  });
  afterEach(async () => {
    gate.open();
    await jobs.drain();
    await store.close();
    await t.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const idle = async () => {
    for (let i = 0; i < 3; i++) {
      await settle();
      await jobs.flushed();
    }
  };
  const submit = (id: string, payload: unknown) => t.app.inject({ method: 'POST', url: `/api/v1/infer/${id}/async`, payload: payload as object });

  it('202 with a JobReference and Location, then status and the same result shape as the sync route', async () => {
    const res = await submit('org%2Fembed', { input_data: { text: ['a b', 'c'] }, priority: 'high' });
    assert.equal(res.statusCode, 202);
    const ref = res.json<{ job_id: string; status: string; created_at: string; status_url: string }>();
    assert.match(ref.job_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(ref.status, 'queued');
    assert.equal(ref.status_url, `/api/v1/jobs/${ref.job_id}`);
    assert.equal(res.headers['location'], ref.status_url);
    assert.ok(await store.get(ref.job_id), 'on disk before the 202');
    await idle();
    const status = await t.app.inject({ url: ref.status_url });
    assert.equal(status.statusCode, 200);
    const view = status.json<Record<string, unknown>>();
    assert.equal(view['status'], 'completed');
    assert.equal(view['progress'], 100);
    assert.equal(view['priority'], 'high');
    assert.equal(view['model_id'], 'org/embed');
    assert.equal(typeof view['completed_at'], 'string');
    const result = await t.app.inject({ url: `${ref.status_url}/result` });
    assert.equal(result.statusCode, 200);
    const sync = await t.app.inject({ method: 'POST', url: '/api/v1/infer/org/embed', payload: { input_data: { text: ['a b', 'c'] } } });
    assert.deepEqual(result.json<{ output_data: unknown }>().output_data, { embeddings: [[3, 2, 0.5], [1, 1, 0.5]] });
    assert.deepEqual(result.json<{ output_data: unknown }>().output_data, sync.json<{ output_data: unknown }>().output_data);
  });

  it('the raw org/name form works; bad bodies and unknown models are refused before a job exists', async () => {
    assert.equal((await submit('org/embed', { input_data: { text: 'x' } })).statusCode, 202);
    const invalid = await submit('org/embed', { input_data: {}, priority: 'urgent' });
    assert.equal(invalid.statusCode, 400);
    assert.equal(invalid.json<{ error_code: string }>().error_code, 'VALIDATION_ERROR');
    const missing = await submit('org/nope', { input_data: { text: 'x' } });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json<{ error_code: string }>().error_code, 'MODEL_NOT_FOUND');
    assert.equal((await store.list()).length, 1);
  });

  it('409 JOB_NOT_READY with status until done; cancel; 409 JOB_ALREADY_FINISHED; 404 and 400 ids', async () => {
    engine.behaviour = async (request, signal) => {
      await Promise.race([gate.promise, new Promise((_r, reject) => signal?.addEventListener('abort', () => reject(new ModelMoraError('CANCELLED', 'aborted'))))]);
      const result: InferenceResult = {
        modelId: request.modelId,
        taskType: 'txt2embed',
        batched: false,
        outputs: [{ kind: 'embedding', embedding: Float32Array.from([1]) }],
        metadata: { inference_time_ms: 1, total_time_ms: 1, batch_size: 1, device: 'cpu' },
      };
      return result;
    };
    const a = (await submit('org/embed', { input_data: { text: 'a' } })).json<{ job_id: string }>().job_id;
    const b = (await submit('org/embed', { input_data: { text: 'b' } })).json<{ job_id: string }>().job_id;
    await idle();
    const notReady = await t.app.inject({ url: `/api/v1/jobs/${a}/result` });
    assert.equal(notReady.statusCode, 409);
    const body = notReady.json<Record<string, unknown>>();
    assert.equal(body['error_code'], 'JOB_NOT_READY');
    assert.equal(body['status'], 'processing');
    assert.equal(typeof body['message'], 'string');

    const cancel = await t.app.inject({ method: 'DELETE', url: `/api/v1/jobs/${b.toUpperCase()}` });
    assert.equal(cancel.statusCode, 200);
    assert.deepEqual(cancel.json(), { job_id: b, status: 'cancelled' });
    const cancelledResult = await t.app.inject({ url: `/api/v1/jobs/${b}/result` });
    assert.equal(cancelledResult.statusCode, 409, 'the API document has no 499');
    assert.deepEqual(
      [cancelledResult.json<{ error_code: string; status: string }>().error_code, cancelledResult.json<{ status: string }>().status],
      ['JOB_CANCELLED', 'cancelled'],
    );
    gate.open();
    await idle();
    const again = await t.app.inject({ method: 'DELETE', url: `/api/v1/jobs/${a}` });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json<{ error_code: string }>().error_code, 'JOB_ALREADY_FINISHED');

    const unknown = await t.app.inject({ url: '/api/v1/jobs/123e4567-e89b-12d3-a456-426614174000' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json<{ error_code: string }>().error_code, 'JOB_NOT_FOUND');
    const bad = await t.app.inject({ url: '/api/v1/jobs/not-a-uuid/result' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json<{ error_code: string }>().error_code, 'VALIDATION_ERROR');
    assert.equal(bad.json<{ validation_errors: Array<{ field: string }> }>().validation_errors[0]?.field, 'job_id');

    const list = await t.app.inject({ url: '/api/v1/jobs?status=cancelled' });
    assert.deepEqual(list.json<{ data: Array<{ job_id: string }> }>().data.map((j) => j.job_id), [b]);
    const all = await t.app.inject({ url: '/api/v1/jobs?model_id=org/embed&limit=1' });
    assert.equal(all.json<{ data: unknown[] }>().data.length, 1);
  });

  it('the OpenAPI document lists the async and job operations', async () => {
    const doc = (await t.app.inject({ url: '/api/v1/openapi.json' })).json<{ paths: Record<string, Record<string, { operationId?: string }>> }>();
    assert.equal(doc.paths['/infer/{model_id}/async']?.['post']?.operationId, 'inferAsync');
    assert.equal(doc.paths['/jobs/{job_id}']?.['get']?.operationId, 'getJobStatus');
    assert.equal(doc.paths['/jobs/{job_id}']?.['delete']?.operationId, 'cancelJob');
    assert.equal(doc.paths['/jobs/{job_id}/result']?.['get']?.operationId, 'getJobResult');
    assert.equal(doc.paths['/jobs']?.['get']?.operationId, 'listJobs');
    assert.equal(doc.paths['/infer/{org}/{name}/async'], undefined, 'the raw form is hidden');
  });
});
