import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ModelMoraClient } from '../../../src/client/client.js';
import { ModelMoraError } from '../../../src/domain/errors.js';
import type { InferenceRequest } from '../../../src/domain/inference.js';
import { testApp, TEST_LOCK, type TestApp } from '../../support/rest-app.js';
import sharp from 'sharp';

/** The client against the real REST skin (FakeEngine behind it) over a real 127.0.0.1 port. */

const JOB_ID = '123e4567-e89b-12d3-a456-426614174000';

describe('ModelMoraClient over REST', () => {
  let t: TestApp;
  let client: ModelMoraClient;
  let url: string;
  const seen: Array<{ method: string; url: string; authorization: string | undefined }> = [];

  before(async () => {
    t = await testApp();
    t.app.addHook('onRequest', async (request) => {
      seen.push({ method: request.method, url: request.url, authorization: request.headers.authorization });
    });
    // The jobs routes come from another module; a stand-in with the document's shapes checks the client's side.
    // Every route declares its access level (or the app refuses it); auth is off in this app.
    const open = { config: { access: 'inference' as const } };
    let jobState: 'queued' | 'completed' = 'queued';
    t.app.post('/api/v1/infer/:model_id/async', open, async (_request, reply) =>
      reply.code(202).send({ job_id: JOB_ID, status: 'queued', created_at: '2025-01-01T00:00:00.000Z', status_url: `/api/v1/jobs/${JOB_ID}` }),
    );
    const view = () => ({ job_id: JOB_ID, model_id: 'org/embed', status: jobState, progress: jobState === 'completed' ? 100 : 0, priority: 'low', created_at: '2025-01-01T00:00:00.000Z' });
    t.app.get('/api/v1/jobs/:id', open, async () => view());
    t.app.get('/api/v1/jobs', open, async () => ({ data: [view()] }));
    t.app.get('/api/v1/jobs/:id/result', open, async (_request, reply) => {
      if (jobState !== 'completed') {
        return reply.code(409).send({ error_code: 'JOB_NOT_READY', message: `Job ${JOB_ID} is queued`, status: 'queued', trace_id: 'tid' });
      }
      return { model_id: 'org/embed', output_data: { embedding: [1, 2, 3] }, metadata: { inference_time_ms: 1, total_time_ms: 2, batch_size: 1, device: 'cpu' } };
    });
    t.app.delete('/api/v1/jobs/:id', open, async () => {
      jobState = 'completed';
      return { job_id: JOB_ID, status: 'cancelled' };
    });
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = address;
    client = new ModelMoraClient({ baseUrl: `${url}/api/v1/`, token: 'secret-token' });
  });
  after(async () => {
    await client.close();
    await t.close();
  });

  it('registers, lists, reads, updates, downloads and deletes models, ids URL-encoded in paths', async () => {
    const created = await client.registerModel({ model_id: 'org/embed', task_type: 'txt2embed', display_name: 'Embed' });
    assert.equal(created.model_id, 'org/embed');
    assert.equal(created.status, 'registered');
    assert.equal(created.version, 'main');
    await client.registerModel({ model_id: 'org/other', task_type: 'txt2txt' });
    const list = await client.listModels({ task_type: 'txt2txt' });
    assert.deepEqual(list.data.map((m) => m.model_id), ['org/other']);
    assert.deepEqual(list.meta, { total: 1, page: 1, page_size: 20, total_pages: 1 });
    assert.equal((await client.getModel('org/embed')).display_name, 'Embed');
    const updated = await client.updateModel('org/embed', { description: 'three numbers' });
    assert.equal(updated.description, 'three numbers');
    const download = await client.downloadModel('org/other');
    assert.deepEqual(download, { model_id: 'org/other', status: 'downloading', message: 'Download started in background' });
    await t.services.downloads.idle();
    assert.deepEqual(t.downloaded, ['org/other']);
    assert.deepEqual(await client.generateLock(), TEST_LOCK);
    await client.deleteModel('org/other', { force: true });
    await assert.rejects(client.getModel('org/other'), (err: ModelMoraError) => err.code === 'MODEL_NOT_FOUND' && err.httpStatus === 404);
    const paths = seen.map((s) => `${s.method} ${s.url}`);
    assert.ok(paths.includes('GET /api/v1/models/org%2Fembed'), paths.join('\n'));
    assert.ok(paths.includes('DELETE /api/v1/models/org%2Fother?force=true'), paths.join('\n'));
    assert.ok(paths.includes('GET /api/v1/models?task_type=txt2txt'), paths.join('\n'));
    assert.ok(seen.every((s) => s.authorization === 'Bearer secret-token'));
  });

  it('infers on a text, a list of texts and an image, sending priority, timeout and parameters', async () => {
    const one = await client.infer('org/embed', { text: 'hello big world', priority: 'high', timeout_seconds: 5, parameters: { normalize: true } });
    assert.deepEqual(one.output_data, { embedding: [15, 3, 0.5] });
    assert.equal(one.model_id, 'org/embed');
    assert.equal(one.metadata.batch_size, 1);
    const sent = t.engine.inferCalls.at(-1)!.request as InferenceRequest;
    assert.equal(sent.priority, 'high');
    assert.equal(sent.timeoutSeconds, 5);
    assert.deepEqual(sent.parameters, { normalize: true });
    const many = await client.infer('org/embed', { texts: ['a', 'bb cc'] });
    assert.deepEqual(many.output_data, { embeddings: [[1, 1, 0.5], [5, 2, 0.5]] });
    // A real image: the daemon checks the header and decodes it before any work.
    const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#ffffff' } }).png().toBuffer();
    t.engine.taskType = 'img2embed';
    await t.registry.register({ model_id: 'org/clip', task_type: 'img2embed' });
    const image = await client.infer('org/clip', { image: `data:image/png;base64,${png.toString('base64')}` });
    assert.deepEqual(image.output_data, { embedding: [png.length, 0, 0] });
    assert.throws(() => client.infer('org/embed', { text: 'a', texts: ['b'] } as never), (err: ModelMoraError) => err.code === 'VALIDATION_ERROR');
  });

  it('loads, reports status and unloads', async () => {
    const loaded = await client.loadModel('org/embed');
    assert.equal(loaded.state, 'loaded');
    assert.equal(loaded.memory_usage_mb, 120);
    const status = await client.status();
    assert.equal(status.version, '0.1.0-test');
    assert.equal(status.uptime_seconds, 100);
    assert.deepEqual(status.loaded_models.map((m) => m.model_id), ['org/embed']);
    assert.deepEqual(status.queue_depth, { high_priority: 0, medium_priority: 0, low_priority: 0 });
    const unloaded = await client.unloadModel('org/embed');
    assert.deepEqual(unloaded, { model_id: 'org/embed', state: 'unloaded', memory_usage_mb: 0 });
    await assert.rejects(client.unloadModel('org/embed'), (err: ModelMoraError) => err.code === 'MODEL_NOT_LOADED');
  });

  it('reads health, readiness (also when 503) and metrics', async () => {
    assert.deepEqual(await client.health.live(), { status: 'ok' });
    assert.deepEqual(await client.health.ready(), { status: 'ready', checks: { database: true, queue: true } });
    t.drain.on = true;
    assert.equal((await client.health.ready()).status, 'not_ready');
    t.drain.on = false;
    assert.deepEqual(await client.health.models(), { healthy_count: 0, unhealthy_count: 0, models: [] });
    const metrics = await client.metrics();
    assert.match(metrics, /^modelmora_requests_total\{model_id="org\/embed",status="success"\} 2$/m);
  });

  it('submits async jobs, polls them, gets JOB_NOT_READY with the status, cancels and lists', async () => {
    const job = await client.inferAsync('org/embed', { text: 'later', priority: 'low' });
    assert.deepEqual(job, { job_id: JOB_ID, status: 'queued', created_at: '2025-01-01T00:00:00.000Z', status_url: `/api/v1/jobs/${JOB_ID}` });
    assert.equal((await client.getJob(JOB_ID)).status, 'queued');
    await assert.rejects(client.getJobResult(JOB_ID), (err: ModelMoraError) => {
      assert.equal(err.code, 'JOB_NOT_READY');
      assert.deepEqual(err.details, { status: 'queued', trace_id: 'tid' });
      return true;
    });
    assert.deepEqual(await client.cancelJob(JOB_ID), { job_id: JOB_ID, status: 'cancelled' });
    assert.deepEqual((await client.getJobResult(JOB_ID)).output_data, { embedding: [1, 2, 3] });
    assert.deepEqual((await client.listJobs({ status: 'completed', limit: 5 })).data.map((j) => j.job_id), [JOB_ID]);
    assert.ok(seen.some((s) => s.url === `/api/v1/jobs?status=completed&limit=5`));
    assert.ok(seen.some((s) => s.method === 'POST' && s.url === '/api/v1/infer/org%2Fembed/async'));
  });

  it('rebuilds 400 VALIDATION_ERROR with its field errors', async () => {
    await assert.rejects(client.infer('org/embed', { text: 'x', priority: 'urgent' as never, timeout_seconds: 9000 }), (err: ModelMoraError) => {
      assert.ok(err instanceof ModelMoraError);
      assert.equal(err.code, 'VALIDATION_ERROR');
      assert.equal(err.httpStatus, 400);
      assert.deepEqual(err.fieldErrors, [
        { field: 'priority', message: 'must be one of high, medium, low' },
        { field: 'timeout_seconds', message: 'must be a whole number from 1 to 600' },
      ]);
      assert.match(String(err.details?.trace_id), /^[0-9a-f-]{36}$/);
      return true;
    });
    await assert.rejects(client.getModel('bad..id'), (err: ModelMoraError) => err.code === 'INVALID_MODEL_ID');
  });

  it('rebuilds 429 RATE_LIMIT_EXCEEDED with retry_after from the Retry-After header', async () => {
    t.engine.behaviour = async () => {
      throw new ModelMoraError('RATE_LIMIT_EXCEEDED', 'Queue of org/embed is full', { details: { retry_after_seconds: 2.2 } });
    };
    try {
      await assert.rejects(client.infer('org/embed', { text: 'x' }), (err: ModelMoraError) => {
        assert.equal(err.code, 'RATE_LIMIT_EXCEEDED');
        assert.equal(err.message, 'Queue of org/embed is full');
        assert.equal(err.details?.retry_after, 3);
        assert.equal(err.details?.retry_after_seconds, 2.2);
        return true;
      });
    } finally {
      t.engine.behaviour = undefined;
    }
  });

  it('says where no daemon answers, as SERVICE_UNAVAILABLE', async () => {
    const port = await closedPort();
    const nobody = new ModelMoraClient({ baseUrl: `http://127.0.0.1:${port}` });
    try {
      await assert.rejects(nobody.status(), (err: ModelMoraError) => {
        assert.equal(err.code, 'SERVICE_UNAVAILABLE');
        assert.equal(err.message, `no daemon at http://127.0.0.1:${port}; start one with \`modelmora serve --detach\``);
        assert.equal(err.details?.reason, 'unreachable');
        return true;
      });
    } finally {
      await nobody.close();
    }
  });

  it('turns an aborted call into CANCELLED', async () => {
    t.engine.behaviour = (_request, signal) =>
      new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new ModelMoraError('CANCELLED', 'gone')), { once: true }));
    try {
      const controller = new AbortController();
      const pending = client.infer('org/embed', { text: 'slow', signal: controller.signal });
      const arrived = () => JSON.stringify(t.engine.inferCalls.at(-1)?.request.items) === '[{"kind":"text","text":"slow"}]';
      for (let i = 0; i < 400 && !arrived(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.ok(arrived(), 'the request reached the engine');
      controller.abort();
      await assert.rejects(pending, (err: ModelMoraError) => err.code === 'CANCELLED');
      // The daemon saw the connection close and aborted the run.
      const signal = t.engine.inferCalls.at(-1)!.signal!;
      for (let i = 0; i < 200 && !signal.aborted; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(signal.aborted, true);
    } finally {
      t.engine.behaviour = undefined;
    }
  });
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
