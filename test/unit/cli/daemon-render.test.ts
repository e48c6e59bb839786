import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ModelStatus, SystemStatus } from '../../../src/client/types.js';
import { buildInferRequest, parseParams } from '../../../src/cli/infer-request.js';
import { embeddingSummary, formatUntil, psTable } from '../../../src/cli/render/daemon-format.js';
import { TopTracker, requestCounters, topText } from '../../../src/cli/render/top-model.js';
import type { ModelMoraError } from '../../../src/domain/errors.js';

const NOW = Date.parse('2025-01-01T00:10:00Z');

function model(over: Partial<ModelStatus> = {}): ModelStatus {
  return {
    model_id: 'org/embed',
    state: 'loaded',
    memory_usage_mb: 512,
    device: 'cpu',
    loaded_at: '2025-01-01T00:00:00Z',
    last_used_at: '2025-01-01T00:09:30Z',
    expires_at: '2025-01-01T00:14:30Z',
    in_flight: 0,
    health_status: { healthy: true, last_check_at: '2025-01-01T00:09:30Z' },
    ...over,
  };
}

function status(models: ModelStatus[]): SystemStatus {
  return {
    version: '1.2.3',
    uptime_seconds: 3725,
    memory: { total_mb: 16000, used_mb: 1024, available_mb: 3000, threshold_mb: 4096 },
    gpu: { available: false, devices: [] },
    loaded_models: models,
    queue_depth: { high_priority: 1, medium_priority: 2, low_priority: 3 },
  };
}

describe('ps rendering', () => {
  it('shows name, state, memory, device, last use and when keep_alive unloads', () => {
    const text = psTable([model(), model({ model_id: 'org/pinned', pinned: true, memory_usage_mb: 2048, expires_at: undefined }), model({ model_id: 'org/busy', in_flight: 2, expires_at: undefined })], NOW);
    assert.deepEqual(text.split('\n'), [
      'NAME        STATE   MEMORY  DEVICE  LAST USED       UNTIL',
      'org/embed   loaded  512 MB  cpu     30 seconds ago  4 minutes from now',
      'org/pinned  loaded  2.0 GB  cpu     30 seconds ago  forever',
      'org/busy    loaded  512 MB  cpu     30 seconds ago  busy (2 in flight)',
    ]);
    assert.equal(formatUntil(model({ state: 'loading', expires_at: undefined }), NOW), '-');
  });

  it('prints an embedding as its first values and its dimension', () => {
    assert.equal(embeddingSummary(Array.from({ length: 100 }, (_, i) => i / 8)), '[0.0000, 0.1250, 0.2500, 0.3750, 0.5000, 0.6250, ...] (100 dims)');
    assert.equal(embeddingSummary([1, -2]), '[1.0000, -2.0000] (2 dims)');
  });
});

describe('top model', () => {
  const metrics = (ok: number, timeouts: number) =>
    [
      '# HELP modelmora_requests_total Total inference requests',
      '# TYPE modelmora_requests_total counter',
      `modelmora_requests_total{model_id="org/embed",status="success"} ${ok}`,
      `modelmora_requests_total{model_id="org/embed",status="timeout"} ${timeouts}`,
      `modelmora_requests_total{model_id="org/b\\"q",status="success"} 4`,
      'modelmora_queue_depth{priority="high"} 1',
      '',
    ].join('\n');

  it('parses the request counters', () => {
    assert.deepEqual([...requestCounters(metrics(10, 1))], [
      ['org/embed\tsuccess', 10],
      ['org/embed\ttimeout', 1],
      ['org/b"q\tsuccess', 4],
    ]);
  });

  it('computes requests per second between samples and remembers failed ones', () => {
    const tracker = new TopTracker('http://h:1');
    const first = tracker.update({ at: NOW, status: status([model()]), requests: requestCounters(metrics(10, 1)) });
    assert.equal(first.rps, null);
    assert.equal(first.requestsTotal, 15);
    const second = tracker.update({ at: NOW + 2000, status: status([model()]), requests: requestCounters(metrics(30, 3)) });
    assert.equal(second.rps, 11);
    assert.equal(second.rpsByModel.get('org/embed'), 11);
    assert.deepEqual(second.recentErrors, [{ at: NOW + 2000, model_id: 'org/embed', status: 'timeout', count: 2 }]);
    const text = topText(second, NOW + 2000);
    assert.match(text, /^ModelMora 1\.2\.3 at http:\/\/h:1  up 1h 2m$/m);
    assert.match(text, /^Memory    ██████░{18}  1\.0 GB of 4\.0 GB budget$/m);
    assert.match(text, /^Queue     high 1  medium 2  low 3$/m);
    assert.match(text, /^Requests  11\.0\/s  \(37 since start\)$/m);
    assert.match(text, /^org\/embed  loaded  512 MB  █░{9} 13%  11\.0   0          32 seconds ago$/m);
    assert.match(text, /^00:10:02  org\/embed  timeout x2$/m);
  });
});

describe('infer arguments', () => {
  it('joins words into one text, or sends each with --batch, with typed parameters', async () => {
    assert.deepEqual(await buildInferRequest(['hello', 'world'], { priority: 'high', timeout: '5', param: ['normalize=true', 'top_k=3', 'mode=fast'] }), {
      text: 'hello world',
      priority: 'high',
      timeout_seconds: 5,
      parameters: { normalize: true, top_k: 3, mode: 'fast' },
    });
    assert.deepEqual(await buildInferRequest(['a', 'b'], { batch: true }), { texts: ['a', 'b'] });
    assert.deepEqual(parseParams(['list=[1,2]', 'eq=a=b']), { list: [1, 2], eq: 'a=b' });
  });

  it('sends an image file as a data URL and refuses bad flags before any request', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'modelmora-infer-'));
    try {
      await writeFile(path.join(dir, 'cat.PNG'), Buffer.from([1, 2, 3]));
      assert.deepEqual(await buildInferRequest([], { image: [path.join(dir, 'cat.PNG')] }), { image: 'data:image/png;base64,AQID' });
      await assert.rejects(buildInferRequest([], { image: [path.join(dir, 'none.png')] }), (err: ModelMoraError) => err.code === 'INVALID_INPUT' && err.message === 'Cannot read image none.png (ENOENT)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await assert.rejects(buildInferRequest([], {}), (err: ModelMoraError) => err.message === 'Give a text to infer on, or --image FILE');
    await assert.rejects(buildInferRequest(['x'], { priority: 'urgent' }), (err: ModelMoraError) => err.fieldErrors?.[0]?.field === 'priority');
    await assert.rejects(buildInferRequest(['x'], { timeout: '601' }), (err: ModelMoraError) => err.fieldErrors?.[0]?.field === 'timeout_seconds');
    assert.throws(() => parseParams(['novalue']), (err: ModelMoraError) => err.code === 'VALIDATION_ERROR');
  });
});
