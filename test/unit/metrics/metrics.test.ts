import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { metricsObserver } from '../../../src/metrics/engine-observer.js';
import { Metrics, requestStatusOf } from '../../../src/metrics/metrics.js';
import { parsePrometheus, sampleValue } from '../../support/prom-parse.js';

describe('Metrics', () => {
  it('exposes the API document metrics and ours, each with the numbers it was given', async () => {
    const metrics = new Metrics();
    metrics.requestDone('org/a', 'success', 0.2);
    metrics.requestDone('org/a', 'success', 3);
    metrics.requestDone('org/a', 'timeout', 60);
    metrics.queueDepth('org/a', { high: 2, medium: 0, low: 12 });
    metrics.queueWait('org/a', 0.004);
    metrics.batch('org/a', 3);
    metrics.batch('org/a', 32);
    metrics.modelLoaded('org/a', 1.5);
    metrics.eviction('org/b');
    metrics.loadedModels(1);
    metrics.modelMemory('org/a', 150_000_000);
    metrics.modelMemory('org/b', 1);
    metrics.modelMemory('org/b', null);
    metrics.downloadBytes('org/a', 1000);
    metrics.downloadBytes('org/a', 24);

    const families = parsePrometheus(await metrics.render());
    assert.equal(families.get('modelmora_requests_total')?.type, 'counter');
    assert.equal(sampleValue(families, 'modelmora_requests_total', { model_id: 'org/a', status: 'success' }), 2);
    assert.equal(sampleValue(families, 'modelmora_requests_total', { model_id: 'org/a', status: 'timeout' }), 1);
    // Only successful requests count towards the duration histogram.
    assert.equal(families.get('modelmora_inference_duration_seconds')?.type, 'histogram');
    assert.equal(sampleValue(families, 'modelmora_inference_duration_seconds_count', { model_id: 'org/a' }), 2);
    assert.equal(sampleValue(families, 'modelmora_inference_duration_seconds_sum', { model_id: 'org/a' }), 3.2);
    assert.equal(sampleValue(families, 'modelmora_inference_duration_seconds_bucket', { model_id: 'org/a', le: '0.25' }), 1);
    assert.equal(sampleValue(families, 'modelmora_inference_duration_seconds_bucket', { model_id: 'org/a', le: '5' }), 2);
    assert.equal(sampleValue(families, 'modelmora_queue_depth', { model_id: 'org/a', priority: 'high' }), 2);
    assert.equal(sampleValue(families, 'modelmora_queue_depth', { model_id: 'org/a', priority: 'medium' }), 0);
    assert.equal(sampleValue(families, 'modelmora_queue_depth', { model_id: 'org/a', priority: 'low' }), 12);
    assert.equal(sampleValue(families, 'modelmora_queue_wait_seconds_count', { model_id: 'org/a' }), 1);
    assert.equal(sampleValue(families, 'modelmora_batch_size_sum', { model_id: 'org/a' }), 35);
    assert.equal(sampleValue(families, 'modelmora_batch_size_bucket', { model_id: 'org/a', le: '4' }), 1);
    assert.equal(sampleValue(families, 'modelmora_model_load_seconds_sum', { model_id: 'org/a' }), 1.5);
    assert.equal(sampleValue(families, 'modelmora_evictions_total', { model_id: 'org/b' }), 1);
    assert.equal(sampleValue(families, 'modelmora_loaded_models'), 1);
    assert.equal(sampleValue(families, 'modelmora_model_memory_bytes', { model_id: 'org/a' }), 150_000_000);
    assert.throws(() => sampleValue(families, 'modelmora_model_memory_bytes', { model_id: 'org/b' }), /no sample/);
    assert.equal(sampleValue(families, 'modelmora_download_bytes_total', { model_id: 'org/a' }), 1024);
    // Default process metrics ride along.
    assert.equal(families.get('process_cpu_user_seconds_total')?.type, 'counter');
    assert.equal(families.get('nodejs_heap_size_used_bytes')?.type, 'gauge');
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
  });

  it('keeps each instance on its own registry', async () => {
    const a = new Metrics({ defaultMetrics: false });
    const b = new Metrics({ defaultMetrics: false });
    a.eviction('org/x');
    const fromB = parsePrometheus(await b.render());
    assert.deepEqual(fromB.get('modelmora_evictions_total')?.samples, []);
    assert.equal(fromB.has('process_cpu_user_seconds_total'), false);
  });

  it('replaces all memory series from an engine snapshot', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.modelMemory('org/gone', 5);
    metrics.modelMemoryAll(new Map([['org/kept', 7]]));
    const families = parsePrometheus(await metrics.render());
    assert.deepEqual(families.get('modelmora_model_memory_bytes')?.samples, [{ name: 'modelmora_model_memory_bytes', labels: { model_id: 'org/kept' }, value: 7 }]);
  });

  it('counts a restart only for a load that replaces a runner, and every failed load', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const o = metricsObserver(metrics);
    o.modelLoaded?.({ modelId: 'org/a', pid: 1, durationMs: 100, bytes: 10, restart: false });
    o.modelLoaded?.({ modelId: 'org/a', pid: 2, durationMs: 100, bytes: 10, restart: true });
    o.loadFailed?.({ modelId: 'org/b', errorCode: 'MODEL_LOAD_FAILED', message: 'x', durationMs: 3 });
    const families = parsePrometheus(await metrics.render());
    assert.equal(families.get('modelmora_runner_restarts_total')?.type, 'counter');
    assert.equal(sampleValue(families, 'modelmora_runner_restarts_total', { model_id: 'org/a' }), 1);
    assert.equal(sampleValue(families, 'modelmora_load_failures_total', { model_id: 'org/b' }), 1);
    assert.equal(sampleValue(families, 'modelmora_model_load_seconds_count', { model_id: 'org/a' }), 2);
  });

  it('serves an exposition promtool accepts', async () => {
    const found = spawnSync('promtool', ['--version']).status === 0;
    if (!found) {
      // CI installs promtool (.ci/run); there its absence is a failure, not a skip.
      assert.notEqual(process.env['CI'], 'true', 'promtool is not on PATH');
      return;
    }
    const metrics = new Metrics();
    metrics.runnerRestarted('org/a');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: await metrics.render(), encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });

  it('maps errors to a small set of status labels', () => {
    assert.equal(requestStatusOf(new ModelMoraError('INFERENCE_TIMEOUT', 'x')), 'timeout');
    assert.equal(requestStatusOf(new ModelMoraError('RATE_LIMIT_EXCEEDED', 'x')), 'rejected');
    assert.equal(requestStatusOf(new ModelMoraError('CANCELLED', 'x')), 'cancelled');
    assert.equal(requestStatusOf(new ModelMoraError('BATCH_SIZE_EXCEEDED', 'x')), 'invalid');
    assert.equal(requestStatusOf(new ModelMoraError('INFERENCE_FAILED', 'x')), 'error');
    assert.equal(requestStatusOf(new Error('x')), 'error');
  });
});

describe('parsePrometheus (test support)', () => {
  it('rejects what Prometheus would reject', () => {
    assert.throws(() => parsePrometheus('a 1\n'), /no TYPE/);
    assert.throws(() => parsePrometheus('# TYPE a gauge\na{x="1} 1\n'), /unterminated|expected/);
    assert.throws(() => parsePrometheus('# TYPE a gauge\na 1\na 2\n'), /duplicate/);
    assert.throws(() => parsePrometheus('# TYPE a gauge\na one\n'), /bad value/);
    assert.throws(() => parsePrometheus('# TYPE a gauge\na 1'), /newline/);
    assert.throws(
      () => parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'),
      /not cumulative/,
    );
    const ok = parsePrometheus('# HELP a An \\\\ thing\n# TYPE a gauge\na{x="q\\"uote",y="n\\nl"} -1.5e3\n');
    assert.deepEqual(ok.get('a'), { name: 'a', help: 'An \\ thing', type: 'gauge', samples: [{ name: 'a', labels: { x: 'q"uote', y: 'n\nl' }, value: -1500 }] });
  });
});
