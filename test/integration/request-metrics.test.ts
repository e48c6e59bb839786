import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildGrpcServer, type GrpcServer } from '../../src/api/grpc/server.js';
import { DurableJobService } from '../../src/jobs/job-service.js';
import { LogJobStore } from '../../src/jobs/log-job-store.js';
import { UNKNOWN_MODEL_LABEL } from '../../src/services/inference-service.js';
import { waitFor } from '../support/daemon-http.js';
import { grpcClients, type GrpcClients } from '../support/grpc-client.js';
import { parsePrometheus } from '../support/prom-parse.js';
import { testApp, type TestApp } from '../support/rest-app.js';

/**
 * Every request reaches modelmora_requests_total whatever skin or form it takes: REST and gRPC
 * share one InferenceService here, as they do in the daemon, and the count is read off /metrics.
 */
describe('request metrics are recorded once, for every skin and form', () => {
  let t: TestApp;
  let dir: string;
  let store: LogJobStore;
  let grpc: GrpcServer;
  let c: GrpcClients;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'modelmora-request-metrics-'));
    store = await LogJobStore.open(dir);
    t = await testApp({ jobs: (engine) => new DurableJobService({ engine, store, retentionMs: 3_600_000 }) });
    await t.registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    grpc = buildGrpcServer({ services: t.services, config: { grpc_max_message_mb: 4, grpc_image_max_message_mb: 4, max_json_depth: 32 } });
    c = grpcClients(await grpc.listen('127.0.0.1', 0));
  });

  after(async () => {
    c.close();
    await grpc.shutdown(1000);
    await t.close();
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const requests = async (model: string, status: string): Promise<number> => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    const family = parsePrometheus(res.body).get('modelmora_requests_total');
    return family?.samples.find((s) => s.labels['model_id'] === model && s.labels['status'] === status)?.value ?? 0;
  };

  it('a REST call, a gRPC call and an async job each add 1 for their model', async () => {
    const rest = await t.app.inject({ method: 'POST', url: '/api/v1/infer/org%2Fembed', payload: { input_data: { text: 'hello' } } });
    assert.equal(rest.statusCode, 200);
    assert.equal(await requests('org/embed', 'success'), 1);

    await c.call('inference', 'Infer', { model_id: 'org/embed', input_data: { text: 'hello' } });
    assert.equal(await requests('org/embed', 'success'), 2);

    const submitted = await t.app.inject({ method: 'POST', url: '/api/v1/infer/org%2Fembed/async', payload: { input_data: { text: 'later' } } });
    assert.equal(submitted.statusCode, 202);
    const jobId = (submitted.json() as { job_id: string }).job_id;
    await waitFor('the job to complete', async () => ((await t.services.inference.jobs.get(jobId)).status === 'completed' ? true : undefined));
    assert.equal(await requests('org/embed', 'success'), 3);
  });

  it('an invalid request counts as invalid for its model, over either skin', async () => {
    const before = await requests('org/embed', 'invalid');
    const rest = await t.app.inject({ method: 'POST', url: '/api/v1/infer/org%2Fembed', payload: { input_data: { text: '' } } });
    assert.equal(rest.statusCode, 400);
    const grpcFailure = await c.fail('inference', 'Infer', { model_id: 'org/embed', input_data: { text: '' } });
    assert.equal(grpcFailure.trailers['error_code'], 'VALIDATION_ERROR');
    const job = await t.app.inject({ method: 'POST', url: '/api/v1/infer/org%2Fembed/async', payload: { input_data: {} } });
    assert.equal(job.statusCode, 400);
    assert.equal(await requests('org/embed', 'invalid'), before + 3);
  });

  it('requests for unknown models are counted under one fixed label, never the id they named', async () => {
    const rest = await t.app.inject({ method: 'POST', url: '/api/v1/infer/org%2Fnobody', payload: { input_data: { text: 'x' } } });
    assert.equal(rest.statusCode, 404);
    const grpcFailure = await c.fail('inference', 'Infer', { model_id: 'org/nobody-else', input_data: { text: 'x' } });
    assert.equal(grpcFailure.trailers['error_code'], 'MODEL_NOT_FOUND');
    const job = await t.app.inject({ method: 'POST', url: '/api/v1/infer/org%2Fnobody/async', payload: { input_data: { text: 'x' } } });
    assert.equal(job.statusCode, 404);
    assert.equal(await requests(UNKNOWN_MODEL_LABEL, 'error'), 3);
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.doesNotMatch(text, /nobody/);
  });
});
