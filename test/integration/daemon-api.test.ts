import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEMO_MODEL, FIXTURE_MODELS, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { call, modelState, runnerCalls, scrape, status, valueOr0, waitFor } from '../support/daemon-http.js';
import { sampleValue } from '../support/prom-parse.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';

// Every REST endpoint of the API document §2 that exists, against a real daemon child process
// with real runners: shapes, status codes and error bodies (§5).

const DEMO = 'modelmora/glove-demo';
const DEMO_ENC = encodeURIComponent(DEMO);
const HUB_MODEL = 'huborg/glove-small';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

let hub: TestHub;
let daemon: DaemonProcess;
let api: string;

type Body = Record<string, unknown>;

/** The document's Error schema: error_code, message and a uuid trace_id echoed in x-trace-id. */
function assertError(reply: { status: number; headers: Headers; body: Body }, status: number, code: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body['error_code'], code);
  assert.equal(typeof reply.body['message'], 'string');
  assert.ok((reply.body['message'] as string).length > 0);
  assert.match(String(reply.body['trace_id']), UUID);
  assert.equal(reply.headers.get('x-trace-id'), reply.body['trace_id']);
  assert.doesNotMatch(JSON.stringify(reply.body), /\/tmp\/|\/work\/|at .*\.js:\d+/, 'no path or stack in an error body');
}

/** The document's ValidationError: one validation_errors entry per offending field. */
function assertFields(reply: { status: number; headers: Headers; body: Body }, fields: string[]): void {
  assertError(reply, 400, 'VALIDATION_ERROR');
  const entries = reply.body['validation_errors'] as Array<{ field: string; message: string }>;
  assert.deepEqual(entries.map((e) => e.field).sort(), [...fields].sort());
  for (const e of entries) assert.ok(e.message.length > 0);
}

before(async () => {
  hub = await startTestHub({ repos: { [HUB_MODEL]: { folder: `${FIXTURE_MODELS}glove-2k` } } });
  daemon = await startDaemon({
    models: [
      { id: DEMO, task: 'txt2embed', source: DEMO_MODEL },
      { id: 'demo-b', task: 'txt2embed', source: DEMO_MODEL },
    ],
    env: { MODELMORA_HUB_URL: hub.url },
  });
  api = daemon.api;
});

after(async () => {
  await daemon?.stop();
  await hub?.close();
});

describe('health', () => {
  test('live, ready and models answer the document shapes, at /api/v1 and at the root', async () => {
    for (const base of [api, daemon.url]) {
      assert.deepEqual((await call(base, 'GET', '/health/live')).body, { status: 'ok' });
      const ready = await call(base, 'GET', '/health/ready');
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { status: 'ready', checks: { database: true, queue: true } });
      const models = await call(base, 'GET', '/health/models');
      assert.equal(models.status, 200);
      assert.equal(typeof models.body['healthy_count'], 'number');
      assert.equal(typeof models.body['unhealthy_count'], 'number');
      assert.ok(Array.isArray(models.body['models']));
    }
  });
});

describe('registry', () => {
  test('POST /models registers (201, Location), a second time is 409 MODEL_ALREADY_EXISTS', async () => {
    const body = {
      model_id: HUB_MODEL,
      task_type: 'txt2embed',
      display_name: 'GloVe 2k',
      description: 'small test embedder',
      resource_requirements: { memory_mb: 512, cpu_threads: 1 },
      config: { pooling: 'mean', normalize: true },
    };
    const created = await call(api, 'POST', '/models', body);
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.get('location'), `/api/v1/models/${encodeURIComponent(HUB_MODEL)}`);
    const m = created.body;
    assert.equal(m['model_id'], HUB_MODEL);
    assert.equal(m['version'], 'main');
    assert.equal(m['task_type'], 'txt2embed');
    assert.equal(m['display_name'], 'GloVe 2k');
    assert.equal(m['description'], 'small test embedder');
    assert.equal(m['status'], 'registered');
    assert.deepEqual(m['resource_requirements'], { memory_mb: 512, cpu_threads: 1 });
    assert.deepEqual(m['config'], { pooling: 'mean', normalize: true });
    assert.match(String(m['created_at']), ISO);
    assert.match(String(m['updated_at']), ISO);

    assertError(await call(api, 'POST', '/models', body), 409, 'MODEL_ALREADY_EXISTS');
  });

  test('POST /models with bad fields is 400 VALIDATION_ERROR naming each field; a bad id is INVALID_MODEL_ID', async () => {
    assertFields(await call(api, 'POST', '/models', { model_id: 'x/y' }), ['task_type']);
    // fastify coerces scalars (7 -> "7"), as for query strings; an object cannot pass as a string.
    assertFields(await call(api, 'POST', '/models', { task_type: 'txt2vid', display_name: { a: 1 } }), ['model_id', 'task_type', 'display_name']);
    assertFields(await call(api, 'POST', '/models', '{"model_id": '), ['body']);
    assertError(await call(api, 'POST', '/models', { model_id: 'a/../b', task_type: 'txt2embed' }), 400, 'INVALID_MODEL_ID');
  });

  test('GET /models filters by task_type and status and paginates', async () => {
    for (const [id, task] of [
      ['zz/cap-1', 'img2txt'],
      ['zz/cap-2', 'img2txt'],
      ['zz/gen-1', 'txt2txt'],
    ] as const) {
      assert.equal((await call(api, 'POST', '/models', { model_id: id, task_type: task })).status, 201);
    }
    const all = await call<{ data: Body[]; meta: Body }>(api, 'GET', '/models');
    assert.equal(all.status, 200);
    const ids = all.body.data.map((m) => m['model_id']);
    assert.deepEqual(ids, [...ids].sort(), 'sorted by model_id');
    for (const id of [DEMO, 'demo-b', HUB_MODEL, 'zz/cap-1', 'zz/cap-2', 'zz/gen-1']) assert.ok(ids.includes(id), id);
    assert.equal(all.body.meta['page'], 1);
    assert.equal(all.body.meta['page_size'], 20);
    assert.equal(all.body.meta['total'], ids.length);
    assert.equal(all.body.meta['total_pages'], 1);

    const captions = await call<{ data: Body[]; meta: Body }>(api, 'GET', '/models?task_type=img2txt');
    assert.deepEqual(captions.body.data.map((m) => m['model_id']), ['zz/cap-1', 'zz/cap-2']);
    assert.equal(captions.body.meta['total'], 2);

    const registered = await call<{ data: Body[] }>(api, 'GET', '/models?status=registered&task_type=txt2txt');
    assert.deepEqual(registered.body.data.map((m) => m['model_id']), ['zz/gen-1']);
    const failed = await call<{ data: Body[]; meta: Body }>(api, 'GET', '/models?status=failed');
    assert.deepEqual(failed.body.data, []);
    assert.equal(failed.body.meta['total'], 0);

    const page2 = await call<{ data: Body[]; meta: Body }>(api, 'GET', '/models?page=2&page_size=2');
    assert.deepEqual(page2.body.data.map((m) => m['model_id']), ids.slice(2, 4));
    assert.deepEqual(page2.body.meta, { total: ids.length, page: 2, page_size: 2, total_pages: Math.ceil(ids.length / 2) });

    assertFields(await call(api, 'GET', '/models?page_size=101&page=0'), ['page_size', 'page']);
    assertFields(await call(api, 'GET', '/models?task_type=nope'), ['task_type']);
  });

  test('GET /models/{id} takes the URL-encoded and the raw id; unknown is 404 MODEL_NOT_FOUND', async () => {
    const encoded = await call(api, 'GET', `/models/${DEMO_ENC}`);
    const raw = await call(api, 'GET', `/models/${DEMO}`);
    assert.equal(encoded.status, 200);
    assert.equal(encoded.body['model_id'], DEMO);
    assert.deepEqual(raw.body, encoded.body);
    assert.equal((await call(api, 'GET', '/models/demo-b')).body['model_id'], 'demo-b');
    assertError(await call(api, 'GET', '/models/nobody%2Fnothing'), 404, 'MODEL_NOT_FOUND');
    assertError(await call(api, 'GET', '/models/nobody/nothing'), 404, 'MODEL_NOT_FOUND');
    assertError(await call(api, 'GET', `/models/${encodeURIComponent('bad id!')}`), 400, 'INVALID_MODEL_ID');
  });

  test('PUT /models/{id} updates (200), 404 for unknown, 400 per bad field', async () => {
    const before = await call(api, 'GET', '/models/zz%2Fgen-1');
    const updated = await call(api, 'PUT', '/models/zz%2Fgen-1', { display_name: 'Generator', config: { max_tokens: 5 } });
    assert.equal(updated.status, 200);
    assert.equal(updated.body['display_name'], 'Generator');
    assert.deepEqual(updated.body['config'], { max_tokens: 5 });
    assert.equal(updated.body['created_at'], before.body['created_at']);
    assert.ok(String(updated.body['updated_at']) >= String(before.body['updated_at']));
    assert.equal((await call(api, 'GET', '/models/zz/gen-1')).body['display_name'], 'Generator', 'persisted');
    assertError(await call(api, 'PUT', '/models/zz%2Fnone', { display_name: 'x' }), 404, 'MODEL_NOT_FOUND');
    assertFields(await call(api, 'PUT', '/models/zz%2Fgen-1', { display_name: {}, resource_requirements: { memory_mb: -1 } }), [
      'display_name',
      'resource_requirements.memory_mb',
    ]);
  });

  test('DELETE /models/{id}: 204, then 404; unknown is 404', async () => {
    const gone = await call(api, 'DELETE', '/models/zz%2Fcap-2');
    assert.equal(gone.status, 204);
    assert.equal(gone.text, '');
    assertError(await call(api, 'GET', '/models/zz%2Fcap-2'), 404, 'MODEL_NOT_FOUND');
    assertError(await call(api, 'DELETE', '/models/zz/cap-2'), 404, 'MODEL_NOT_FOUND');
  });

  test('POST /models/{id}/download answers 202 at once and the model turns ready; it then serves', async () => {
    const started = await call(api, 'POST', `/models/${encodeURIComponent(HUB_MODEL)}/download`);
    assert.equal(started.status, 202);
    assert.equal(started.body['model_id'], HUB_MODEL);
    assert.equal(started.body['status'], 'downloading');
    assert.equal(typeof started.body['message'], 'string');
    const ready = await waitFor('the download to finish', async () => {
      const m = await call(api, 'GET', `/models/${HUB_MODEL}`);
      assert.notEqual(m.body['status'], 'failed', String(m.body['error']));
      return m.body['status'] === 'ready' ? m.body : undefined;
    });
    assert.equal(ready['model_id'], HUB_MODEL);
    assert.ok(hub.fileRequests('onnx/model.onnx').length >= 1, 'the weights came from the hub');

    // A yaml model (local folder source) downloads the same way.
    assert.equal((await call(api, 'POST', '/models/demo-b/download')).status, 202);
    await waitFor('demo-b to be ready', async () => ((await call(api, 'GET', '/models/demo-b')).body['status'] === 'ready' ? true : undefined));

    const out = await call<{ output_data: { embedding: number[] } }>(api, 'POST', `/infer/${HUB_MODEL}`, { input_data: { text: 'the market' } });
    assert.equal(out.status, 200);
    assert.equal(out.body.output_data.embedding.length, 100);

    const families = await scrape(api);
    assert.ok(valueOr0(families, 'modelmora_download_bytes_total', { model_id: HUB_MODEL }) > 100_000, 'download bytes counted');
    assertError(await call(api, 'POST', '/models/zz%2Fnone/download'), 404, 'MODEL_NOT_FOUND');
  });

  test('POST /models/lock answers the LockFile shape with every resolvable model pinned', async () => {
    // Registered models the hub does not have cannot be pinned: the lock pins all the others and lists them with their error.
    const partial = await call<{ models: Body[]; unresolved: Body[] }>(api, 'POST', '/models/lock');
    assert.equal(partial.status, 200, partial.text);
    assert.deepEqual(partial.body.unresolved.map((u) => [u['model_id'], u['error_code']]).sort(), [
      ['zz/cap-1', 'MODEL_NOT_FOUND'],
      ['zz/gen-1', 'MODEL_NOT_FOUND'],
    ]);
    assert.match(String(partial.body.unresolved.find((u) => u['model_id'] === 'zz/cap-1')!['message']), /zz\/cap-1@main was not found on the hub/);
    assert.deepEqual(partial.body.models.map((m) => m['model_id']).sort(), [DEMO, HUB_MODEL, 'demo-b'].sort());
    for (const id of ['zz/cap-1', 'zz/gen-1']) assert.equal((await call(api, 'DELETE', `/models/${encodeURIComponent(id)}`)).status, 204);
    const lock = await call<{ version: string; generated_at: string; models: Body[]; unresolved: Body[] }>(api, 'POST', '/models/lock');
    assert.deepEqual(lock.body.unresolved, []);
    assert.equal(lock.status, 200, lock.text);
    assert.equal(lock.body.version, '1.0');
    assert.match(lock.body.generated_at, ISO);
    const byId = new Map(lock.body.models.map((m) => [m['model_id'], m]));
    assert.deepEqual([...byId.keys()].sort(), [DEMO, HUB_MODEL, 'demo-b'].sort());
    for (const m of byId.values()) {
      assert.match(String(m['version']), /^[0-9a-f]{40}$/, 'pinned to a commit');
      assert.match(String(m['checksum']), /^sha256:[0-9a-f]{64}$/);
      assert.equal(m['task_type'], 'txt2embed');
    }
    assert.equal(byId.get(HUB_MODEL)!['version'], hub.commitOf(HUB_MODEL));
    assert.equal(byId.get(DEMO)!['checksum'], byId.get('demo-b')!['checksum'], 'same folder, same checksum');
  });
});

describe('lifecycle', () => {
  test('load answers ModelStatusResponse; /status and /health/models show it; unload frees it', async () => {
    const loaded = await call(api, 'POST', `/models/${DEMO_ENC}/load`);
    assert.equal(loaded.status, 200, loaded.text);
    assert.equal(loaded.body['model_id'], DEMO);
    assert.equal(loaded.body['state'], 'loaded');
    assert.equal(loaded.body['device'], 'cpu');
    assert.ok((loaded.body['memory_usage_mb'] as number) > 10, 'measured runner RSS');
    assert.match(String(loaded.body['loaded_at']), ISO);
    assert.match(String(loaded.body['last_used_at']), ISO);
    assert.equal((loaded.body['health_status'] as Body)['healthy'], true);

    const s = await status(api);
    const raw = (await call(api, 'GET', '/status')).body;
    assert.equal(typeof raw['version'], 'string');
    assert.equal(typeof raw['uptime_seconds'], 'number');
    assert.deepEqual(raw['gpu'], { available: false, devices: [] });
    assert.deepEqual(Object.keys(s.queue_depth).sort(), ['high_priority', 'low_priority', 'medium_priority']);
    assert.ok(s.memory.total_mb > 0 && s.memory.threshold_mb > 0);
    const demo = modelState(s, DEMO);
    assert.equal(demo?.state, 'loaded');
    assert.ok(s.memory.used_mb >= demo!.memory_usage_mb, 'used memory counts the runner');

    const health = await call<{ healthy_count: number; unhealthy_count: number; models: Body[] }>(api, 'GET', '/health/models');
    const entry = health.body.models.find((m) => m['model_id'] === DEMO);
    assert.equal(entry?.['healthy'], true);
    assert.match(String(entry?.['last_check_at']), ISO);
    assert.equal(health.body.healthy_count, health.body.models.length);
    assert.equal(health.body.unhealthy_count, 0);

    const unloaded = await call(api, 'POST', `/models/${DEMO}/unload`);
    assert.equal(unloaded.status, 200);
    assert.equal(unloaded.body['model_id'], DEMO);
    assert.equal(unloaded.body['state'], 'unloaded');
    assert.equal(modelState(await status(api), DEMO), undefined);
    assertError(await call(api, 'POST', `/models/${DEMO_ENC}/unload`), 404, 'MODEL_NOT_LOADED');
    assertError(await call(api, 'POST', '/models/zz%2Fnone/load'), 404, 'MODEL_NOT_FOUND');
  });

  test('DELETE of a loaded model is 409 without force, 204 with force (runner stopped)', async () => {
    assert.equal((await call(api, 'POST', '/models/demo-b/load')).status, 200);
    const refused = await call(api, 'DELETE', '/models/demo-b');
    assertError(refused, 409, 'MODEL_IN_USE');
    assert.equal(modelState(await status(api), 'demo-b')?.state, 'loaded', 'still loaded after the refusal');
    const forced = await call(api, 'DELETE', '/models/demo-b?force=true');
    assert.equal(forced.status, 204);
    assert.equal(modelState(await status(api), 'demo-b'), undefined);
    assertError(await call(api, 'GET', '/models/demo-b'), 404, 'MODEL_NOT_FOUND');
  });
});

describe('inference errors', () => {
  test('400 VALIDATION_ERROR per field, 404 for an unknown model, 413 over max_inputs', async () => {
    assertFields(await call(api, 'POST', `/infer/${DEMO_ENC}`, {}), ['input_data']);
    assertFields(await call(api, 'POST', `/infer/${DEMO}`, { input_data: { text: ['ok', 3, ''] }, priority: 'urgent', timeout_seconds: 0 }), [
      'input_data.text[1]',
      'input_data.text[2]',
      'priority',
      'timeout_seconds',
    ]);
    assertError(await call(api, 'POST', '/infer/zz%2Fnone', { input_data: { text: 'x' } }), 404, 'MODEL_NOT_FOUND');
    assertError(await call(api, 'POST', `/infer/${DEMO_ENC}`, { input_data: { image: 'AAAA' } }), 400, 'INVALID_INPUT');
    const many = Array.from({ length: 33 }, () => 'a'); // max_inputs defaults to 32
    assertError(await call(api, 'POST', `/infer/${DEMO_ENC}`, { input_data: { text: many } }), 413, 'BATCH_SIZE_EXCEEDED');
  });
});

describe('metrics', () => {
  test('/metrics parses as Prometheus text and carries every ModelMora metric with real values', async () => {
    const ok = await call(api, 'POST', `/infer/${DEMO_ENC}`, { input_data: { text: ['one', 'two', 'three'] }, priority: 'low' });
    assert.equal(ok.status, 200);
    const res = await fetch(`${daemon.url}/metrics`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const families = await scrape(api); // parsePrometheus throws on any malformed line
    const success = sampleValue(families, 'modelmora_requests_total', { model_id: DEMO, status: 'success' });
    assert.ok(success >= 1);
    assert.ok(sampleValue(families, 'modelmora_requests_total', { model_id: DEMO, status: 'invalid' }) >= 2, 'the 400s above');
    // Ids that are not registered never become label values: the series count stays bounded.
    assert.ok(!families.get('modelmora_requests_total')?.samples.some((s) => s.labels['model_id'] === 'zz/none'));
    assert.equal(families.get('modelmora_requests_total')?.type, 'counter');
    assert.equal(families.get('modelmora_inference_duration_seconds')?.type, 'histogram');
    assert.equal(sampleValue(families, 'modelmora_inference_duration_seconds_count', { model_id: DEMO }), success);
    assert.ok(sampleValue(families, 'modelmora_inference_duration_seconds_sum', { model_id: DEMO }) > 0);
    assert.equal(families.get('modelmora_queue_depth')?.type, 'gauge');
    // Per model, fed by the engine as its queue changes: the model just served waits on nothing now.
    for (const priority of ['high', 'medium', 'low']) assert.equal(sampleValue(families, 'modelmora_queue_depth', { model_id: DEMO, priority }), 0);
    assert.ok(sampleValue(families, 'modelmora_queue_wait_seconds_count', { model_id: DEMO }) >= success);
    assert.ok(runnerCalls(families, DEMO) >= 1);
    assert.ok(sampleValue(families, 'modelmora_batch_size_sum', { model_id: DEMO }) >= 3, 'the batch of three');
    assert.ok(sampleValue(families, 'modelmora_model_load_seconds_count', { model_id: DEMO }) >= 1);
    assert.equal(families.get('modelmora_evictions_total')?.type, 'counter');
    assert.equal(sampleValue(families, 'modelmora_loaded_models'), (await status(api)).loaded_models.filter((m) => m.state === 'loaded').length);
    const rss = (modelState(await status(api), DEMO)?.memory_usage_mb ?? 0) * 1024 * 1024;
    const bytes = sampleValue(families, 'modelmora_model_memory_bytes', { model_id: DEMO });
    assert.ok(bytes > 10 * 1024 * 1024 && Math.abs(bytes - rss) < 0.1 * 1024 * 1024 + rss * 0.5, `${bytes} vs ${rss}`);
    assert.equal(families.get('modelmora_download_bytes_total')?.type, 'counter');
  });

  test('the OpenAPI document is served', async () => {
    const doc = await call<{ openapi: string; servers: Array<{ url: string }>; paths: Record<string, unknown> }>(api, 'GET', '/openapi.json');
    assert.equal(doc.status, 200);
    assert.match(doc.body.openapi, /^3\./);
    assert.equal(doc.body.servers[0]?.url, '/api/v1');
    for (const p of ['/models', '/models/{model_id}', '/models/lock', '/infer/{model_id}', '/models/{model_id}/load', '/status', '/health/ready', '/metrics']) {
      assert.ok(p in doc.body.paths, p);
    }
  });
});

describe('single writer', () => {
  test('a second daemon on the same home refuses to start with a clear message and a non-zero exit', async () => {
    await assert.rejects(
      startDaemon({ home: daemon.home, dir: daemon.dir }),
      (err: Error) => {
        assert.match(err.message, /daemon exited \((\d+)\) before listening/);
        assert.notEqual(Number(/exited \((\d+)\)/.exec(err.message)?.[1]), 0);
        assert.match(err.message, new RegExp(`Another ModelMora daemon \\(pid ${daemon.pid}\\) is already using this home`));
        return true;
      },
    );
    assert.equal((await call(api, 'GET', '/health/ready')).status, 200, 'the first one still serves');
  });
});
