import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GrpcServer } from '../../src/api/grpc/server.js';
import { ModelMoraError } from '../../src/domain/errors.js';
import type { InferenceRequest, InferenceResult } from '../../src/domain/inference.js';
import type { JobService, JobView } from '../../src/domain/jobs.js';
import { Registry } from '../../src/store/registry.js';
import { FakeEngine } from '../support/fake-engine.js';
import { testGrpcServer } from '../support/grpc-server.js';
import { grpc, grpcClients, type GrpcClients, type Msg } from '../support/grpc-client.js';
import { solidImage } from '../support/images.js';

/**
 * The gRPC skin in this process over a FakeEngine, a fake JobService and a real registry, on a
 * real 127.0.0.1 port: what a real daemon cannot show cheaply (cancellation reaching the
 * engine, message size limits, job mapping, shutdown of open streams).
 */

const TEXT_MODEL = 'org/text';
const IMAGE_MODEL = 'org/image';
const S = grpc.status;

/** Jobs held in memory; `finish` completes one with the engine's answer. */
class FakeJobs implements JobService {
  readonly jobs = new Map<string, { view: JobView; request: InferenceRequest; result?: InferenceResult }>();
  constructor(private readonly engine: FakeEngine) {}
  async submit(request: InferenceRequest): Promise<JobView> {
    const view: JobView = { job_id: randomUUID(), model_id: request.modelId, status: 'queued', progress: 0, priority: request.priority, created_at: '2025-01-01T00:00:00.500Z' };
    this.jobs.set(view.job_id, { view, request });
    return { ...view };
  }
  async get(jobId: string): Promise<JobView> {
    const job = this.jobs.get(jobId);
    if (!job) throw new ModelMoraError('JOB_NOT_FOUND', `Job '${jobId}' not found`);
    return { ...job.view };
  }
  async result(jobId: string): Promise<InferenceResult> {
    const job = this.jobs.get(jobId);
    if (!job) throw new ModelMoraError('JOB_NOT_FOUND', `Job '${jobId}' not found`);
    if (job.view.status === 'cancelled') throw new ModelMoraError('JOB_CANCELLED', 'Job was cancelled', { details: { status: 'cancelled' } });
    if (!job.result) throw new ModelMoraError('JOB_NOT_READY', 'Job is not finished', { details: { status: job.view.status } });
    return job.result;
  }
  async cancel(jobId: string): Promise<JobView> {
    const job = this.jobs.get(jobId);
    if (!job) throw new ModelMoraError('JOB_NOT_FOUND', `Job '${jobId}' not found`);
    if (job.view.status === 'completed') throw new ModelMoraError('JOB_ALREADY_FINISHED', 'Job already finished');
    job.view.status = 'cancelled';
    return { ...job.view };
  }
  async list(): Promise<JobView[]> {
    return [...this.jobs.values()].map((j) => j.view);
  }
  async finish(jobId: string): Promise<void> {
    const job = this.jobs.get(jobId)!;
    job.result = await this.engine.infer(job.request);
    Object.assign(job.view, { status: 'completed', progress: 100, started_at: '2025-01-01T00:00:01.000Z', completed_at: '2025-01-01T00:00:02.250Z' });
  }
}

describe('gRPC skin in process', () => {
  let home: string;
  let engine: FakeEngine;
  let jobs: FakeJobs;
  let server: GrpcServer;
  let c: GrpcClients;
  let draining = false;

  before(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'modelmora-grpc-'));
    const registry = await Registry.open({ home });
    await registry.register({ model_id: TEXT_MODEL, task_type: 'txt2embed' });
    await registry.register({ model_id: IMAGE_MODEL, task_type: 'img2embed' });
    engine = new FakeEngine();
    jobs = new FakeJobs(engine);
    server = testGrpcServer({
      config: { max_image_pixels: 178_956_970 },
      registry,
      engine,
      jobs,
      draining: () => draining,
    });
    const port = await server.listen('127.0.0.1', 0);
    c = grpcClients(port, { 'grpc.max_send_message_length': 8 * 1024 * 1024 });
  });

  after(async () => {
    c?.close();
    await server?.shutdown(1000);
    await rm(home, { recursive: true, force: true });
  });

  test('a cancelled call aborts the engine call; a call deadline shortens the engine timeout', async () => {
    engine.behaviour = (_request, signal) =>
      new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new ModelMoraError('CANCELLED', 'cancelled')), { once: true }));
    try {
      const calls = engine.inferCalls.length;
      const call = (c.inference as unknown as { Infer(req: Msg, cb: (err: Error | null) => void): grpc.ClientUnaryCall }).Infer(
        { model_id: TEXT_MODEL, input_data: { text: 'hang' } },
        () => undefined,
      );
      for (let i = 0; i < 100 && engine.inferCalls.length === calls; i++) await sleep(10);
      const seen = engine.inferCalls.at(-1)!;
      assert.equal(seen.signal?.aborted, false);
      call.cancel();
      for (let i = 0; i < 100 && !seen.signal?.aborted; i++) await sleep(10);
      assert.equal(seen.signal?.aborted, true, 'the engine saw the cancel');

      const deadline = await c.fail('inference', 'Infer', { model_id: TEXT_MODEL, input_data: { text: 'hang' }, timeout_seconds: 30 }, { deadline: Date.now() + 1500 });
      assert.equal(deadline.code, S.DEADLINE_EXCEEDED);
      const timeout = engine.inferCalls.at(-1)!.request.timeoutSeconds;
      assert.ok(timeout > 0.5 && timeout < 1.5, `engine timeout ${timeout} s, bounded by the 1.5 s call deadline`);
    } finally {
      engine.behaviour = undefined;
    }
  });

  test('a 3 MB image fits the message limit; a message over grpc_max_message_mb is RESOURCE_EXHAUSTED', async () => {
    // A real PNG followed by 3 MB of trailing bytes, which decoders ignore after IEND.
    const image = Buffer.concat([await solidImage('png', 8, 8), Buffer.alloc(3 * 1024 * 1024, 7)]);
    const [small, smaller] = [await solidImage('png', 30, 20), await solidImage('png', 2, 2)];
    const { response } = await c.call<{ output_data: { embedding: { values: number[] } } }>('inference', 'Infer', { model_id: IMAGE_MODEL, input_data: { image } });
    assert.deepEqual(response.output_data.embedding.values, [image.length, 0, 0]);
    const batch = await c.call<{ output_data: { embedding_batch: { embeddings: Array<{ values: number[] }> } } }>('inference', 'Infer', {
      model_id: IMAGE_MODEL,
      input_data: { image_batch: { images: [small, smaller] } },
    });
    assert.deepEqual(batch.response.output_data.embedding_batch.embeddings.map((e) => e.values[0]), [small.length, smaller.length]);
    const tooBig = await c.fail('inference', 'Infer', { model_id: IMAGE_MODEL, input_data: { image: Buffer.alloc(5 * 1024 * 1024) } });
    assert.equal(tooBig.code, S.RESOURCE_EXHAUSTED);
    const emptyImage = await c.fail('inference', 'Infer', { model_id: IMAGE_MODEL, input_data: { image_batch: { images: [small, Buffer.alloc(0)] } } });
    assert.equal(emptyImage.code, S.INVALID_ARGUMENT);
    assert.deepEqual(JSON.parse(emptyImage.trailers['validation_errors']!), [{ field: 'input_data.image_batch.images[1]', message: 'is empty' }]);
  });

  test('parameters, priority and timeout reach the engine as REST would send them; a batch over max_inputs is BATCH_SIZE_EXCEEDED', async () => {
    await c.call('inference', 'Infer', {
      model_id: TEXT_MODEL,
      input_data: { text: 'hello' },
      parameters: { fields: { normalize: { boolValue: false }, nested: { structValue: { fields: { k: { listValue: { values: [{ numberValue: 1 }, { stringValue: 'x' }] } } } } } } },
      priority: 'PRIORITY_LOW',
      timeout_seconds: 7,
      request_id: 'r-1',
    });
    const request = engine.inferCalls.at(-1)!.request;
    assert.deepEqual(request.parameters, { normalize: false, nested: { k: [1, 'x'] } });
    assert.equal(request.priority, 'low');
    assert.equal(request.timeoutSeconds, 7);
    assert.equal(request.requestId, 'r-1');
    await c.call('inference', 'Infer', { model_id: TEXT_MODEL, input_data: { text: 'defaults' } });
    assert.equal(engine.inferCalls.at(-1)!.request.priority, 'medium');
    assert.equal(engine.inferCalls.at(-1)!.request.timeoutSeconds, 60);
    const tooMany = await c.fail('inference', 'Infer', { model_id: TEXT_MODEL, input_data: { text_batch: { texts: Array(9).fill('x') } } });
    assert.equal(tooMany.code, S.INVALID_ARGUMENT);
    assert.equal(tooMany.trailers['error_code'], 'BATCH_SIZE_EXCEEDED');
  });

  test('InferAsync, GetJobStatus, GetJobResult and CancelJob map the JobService', async () => {
    const ref = (await c.call<{ job_id: string }>('inference', 'InferAsync', { model_id: TEXT_MODEL, input_data: { text: 'later on' }, priority: 'PRIORITY_HIGH' })).response;
    const id = ref.job_id;
    assert.deepEqual(ref, { job_id: id, status: 'JOB_STATUS_QUEUED', created_at: { seconds: 1735689600, nanos: 500_000_000 } });
    assert.equal(jobs.jobs.get(id)!.request.priority, 'high');
    const notReady = await c.fail('inference', 'GetJobResult', { job_id: id });
    assert.equal(notReady.code, S.FAILED_PRECONDITION);
    assert.equal(notReady.trailers['error_code'], 'JOB_NOT_READY');
    await jobs.finish(id);
    const status = (await c.call('inference', 'GetJobStatus', { job_id: id })).response;
    assert.equal(status['status'], 'JOB_STATUS_COMPLETED');
    assert.equal(status['progress'], 100);
    assert.deepEqual(status['completed_at'], { seconds: 1735689602, nanos: 250_000_000 });
    const result = (await c.call<{ output_data: { embedding: { values: number[] } } }>('inference', 'GetJobResult', { job_id: id })).response;
    assert.deepEqual(result.output_data.embedding.values, [8, 2, 0.5]);
    assert.equal((await c.fail('inference', 'CancelJob', { job_id: id })).trailers['error_code'], 'JOB_ALREADY_FINISHED');
    const second = (await c.call<{ job_id: string }>('inference', 'InferAsync', { model_id: TEXT_MODEL, input_data: { text: 'never' } })).response.job_id;
    assert.deepEqual((await c.call('inference', 'CancelJob', { job_id: second })).response, { job_id: second, status: 'JOB_STATUS_CANCELLED' });
    const cancelled = await c.fail('inference', 'GetJobResult', { job_id: second });
    assert.deepEqual([cancelled.code, cancelled.trailers['error_code']], [S.FAILED_PRECONDITION, 'JOB_CANCELLED'], 'a job state, not a cancelled call');
    assert.equal((await c.fail('inference', 'GetJobStatus', { job_id: randomUUID() })).code, S.NOT_FOUND);
    assert.equal((await c.fail('inference', 'GetJobStatus', { job_id: 'nope' })).trailers['error_code'], 'VALIDATION_ERROR');
    assert.equal((await c.fail('inference', 'GetJobStatus', { job_id: '' })).trailers['error_code'], 'VALIDATION_ERROR');
  });

  test('GenerateLock answers the models it pinned and lists the unresolved ones with their error', async () => {
    const { response } = await c.call<{ models: Array<Record<string, unknown>>; unresolved: Array<Record<string, unknown>> }>('registry', 'GenerateLock', {});
    assert.deepEqual(response.models.map((m) => m['model_id']), ['org/embed']);
    assert.deepEqual(response.unresolved, [{ model_id: 'org/gone', error_code: 'MODEL_NOT_FOUND', message: 'Model org/gone@main was not found on the hub' }]);
  });

  test('while draining: calls are UNAVAILABLE, probes answer, health says NOT_SERVING', async () => {
    draining = true;
    try {
      const refused = await c.fail('registry', 'ListModels', {});
      assert.equal(refused.code, S.UNAVAILABLE);
      assert.equal(refused.trailers['error_code'], 'SERVICE_UNAVAILABLE');
      assert.equal((await c.call('management', 'ReadinessCheck', {})).response['status'], 'not_ready');
      assert.equal((await c.call('health', 'Check', { service: '' })).response['status'], 'NOT_SERVING');
    } finally {
      draining = false;
    }
  });

  test('shutdown ends an open InferStream after its answers and an open health Watch', async () => {
    const stream = (c.inference as unknown as { InferStream(): grpc.ClientDuplexStream<Msg, Msg> }).InferStream();
    const answers: Msg[] = [];
    stream.on('data', (a: Msg) => answers.push(a));
    const streamStatus = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('error', () => undefined);
    const watch = (c.health as unknown as { Watch(req: Msg): grpc.ClientReadableStream<Msg> }).Watch({ service: '' });
    const watched: Msg[] = [];
    watch.on('data', (m: Msg) => watched.push(m));
    const watchStatus = new Promise<grpc.StatusObject>((resolve) => watch.on('status', resolve));
    watch.on('error', () => undefined);
    stream.write({ model_id: TEXT_MODEL, input_data: { text: 'one' } });
    stream.write({ model_id: TEXT_MODEL, input_data: { text: 'two words' } });
    for (let i = 0; i < 100 && (answers.length < 2 || watched.length < 1); i++) await sleep(10);
    await server.shutdown(5000);
    assert.equal((await streamStatus).code, S.OK);
    assert.equal(answers.length, 2);
    assert.equal((await watchStatus).code, S.OK);
    assert.deepEqual(watched.map((m) => m['status']), ['SERVING', 'NOT_SERVING']);
  });
});
