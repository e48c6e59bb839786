import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { parsePrometheus, sampleValue } from '../../support/prom-parse.js';
import { testApp, type TestApp } from '../../support/rest-app.js';

describe('REST lifecycle, health and metrics routes', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp();
    await t.registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
  });
  afterEach(() => t.close());

  it('POST /models/{id}/load answers the ModelStatusResponse', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/models/org%2Fembed/load' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      model_id: 'org/embed',
      state: 'loaded',
      memory_usage_mb: 120,
      device: 'cpu',
      loaded_at: '2025-01-01T00:00:00.000Z',
      health_status: { healthy: true, last_check_at: '2025-01-01T00:00:00.000Z' },
    });
    assert.deepEqual(t.engine.loadCalls, ['org/embed']);
    const raw = await t.app.inject({ method: 'POST', url: '/api/v1/models/org/embed/load' });
    assert.equal(raw.statusCode, 200);
    const missing = await t.app.inject({ method: 'POST', url: '/api/v1/models/org/nope/load' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error_code, 'MODEL_NOT_FOUND');
    assert.deepEqual(t.engine.loadCalls, ['org/embed', 'org/embed']);
  });

  it('POST /models/{id}/load passes engine failures through (507)', async () => {
    t.engine.load = async () => {
      throw new ModelMoraError('INSUFFICIENT_MEMORY', 'org/embed needs 900 MB; 100 MB of the budget is free');
    };
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/models/org/embed/load' });
    assert.equal(res.statusCode, 507);
    assert.equal(res.json().error_code, 'INSUFFICIENT_MEMORY');
  });

  it('POST /models/{id}/unload unloads, and answers 404 MODEL_NOT_LOADED when it is not loaded', async () => {
    await t.engine.load('org/embed');
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/models/org/embed/unload' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { model_id: 'org/embed', state: 'unloaded', memory_usage_mb: 0 });
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/models/org%2Fembed/unload' });
    assert.equal(again.statusCode, 404);
    assert.equal(again.json().error_code, 'MODEL_NOT_LOADED');
  });

  it('GET /status reports version, uptime, memory, gpu, loaded models and queue depth', async () => {
    await t.engine.load('org/embed');
    t.engine.usedMb = 120;
    t.engine.budgetMb = 2000;
    t.engine.depth = { high_priority: 1, medium_priority: 2, low_priority: 3 };
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/status' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.version, '0.1.0-test');
    assert.equal(body.uptime_seconds, 100);
    // available: the budget left (1880), capped by what the machine has free (3000).
    assert.deepEqual(body.memory, { total_mb: 16000, used_mb: 120, available_mb: 1880, threshold_mb: 2000 });
    assert.deepEqual(body.gpu, { available: false, devices: [] });
    assert.deepEqual(body.loaded_models.map((m: { model_id: string }) => m.model_id), ['org/embed']);
    assert.deepEqual(body.queue_depth, { high_priority: 1, medium_priority: 2, low_priority: 3 });

    t.engine.budgetMb = 10000;
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/status' })).json().memory.available_mb, 3000);
  });

  it('health: live, ready 200/503 with checks, and per-model health', async () => {
    for (const prefix of ['/api/v1', '']) {
      const live = await t.app.inject({ method: 'GET', url: `${prefix}/health/live` });
      assert.deepEqual([live.statusCode, live.json()], [200, { status: 'ok' }]);
      const ready = await t.app.inject({ method: 'GET', url: `${prefix}/health/ready` });
      assert.deepEqual([ready.statusCode, ready.json()], [200, { status: 'ready', checks: { database: true, queue: true } }]);
    }
    t.drain.on = true;
    const draining = await t.app.inject({ method: 'GET', url: '/api/v1/health/ready' });
    assert.deepEqual([draining.statusCode, draining.json()], [503, { status: 'not_ready', checks: { database: true, queue: false } }]);

    await t.engine.load('org/embed');
    await t.engine.load('org/sick');
    const sick = t.engine.loaded.get('org/sick');
    assert.ok(sick);
    sick.state = 'unhealthy';
    sick.health_status = { healthy: false, last_check_at: '2025-01-01T00:00:05.000Z', error_message: 'Runner exited with code 137' };
    const models = await t.app.inject({ method: 'GET', url: '/api/v1/health/models' });
    assert.equal(models.statusCode, 200);
    assert.deepEqual(models.json(), {
      healthy_count: 1,
      unhealthy_count: 1,
      models: [
        { model_id: 'org/embed', healthy: true, last_check_at: '2025-01-01T00:00:00.000Z' },
        { model_id: 'org/sick', healthy: false, last_check_at: '2025-01-01T00:00:05.000Z', error: 'Runner exited with code 137' },
      ],
    });
  });

  it('GET /metrics is valid Prometheus text with the loaded models sampled at scrape time', async () => {
    await t.engine.load('org/embed');
    for (const url of ['/api/v1/metrics', '/metrics']) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      const families = parsePrometheus(res.body);
      assert.equal(families.get('modelmora_queue_depth')?.type, 'gauge');
      assert.equal(families.get('modelmora_queue_depth')?.help, 'Current queue depth');
      assert.equal(sampleValue(families, 'modelmora_loaded_models'), 1);
      assert.equal(sampleValue(families, 'modelmora_model_memory_bytes', { model_id: 'org/embed' }), 120 * 1024 * 1024);
      for (const name of ['modelmora_requests_total', 'modelmora_inference_duration_seconds', 'modelmora_queue_wait_seconds', 'modelmora_batch_size', 'modelmora_model_load_seconds', 'modelmora_evictions_total', 'modelmora_download_bytes_total']) {
        assert.ok(families.has(name), name);
      }
    }
  });
});
