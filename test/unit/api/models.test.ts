import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { TEST_LOCK, testApp, type TestApp } from '../../support/rest-app.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('REST registry routes', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await testApp();
  });
  afterEach(() => t.close());

  async function register(body: Record<string, unknown>) {
    return t.app.inject({ method: 'POST', url: '/api/v1/models', payload: body });
  }

  it('POST /models registers (201, ModelResponse, Location) and refuses a duplicate with 409', async () => {
    const res = await register({ model_id: 'org/embed', task_type: 'txt2embed', version: 'v2', display_name: 'Embed', config: { max_length: 128 }, resource_requirements: { memory_mb: 300 } });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers.location, '/api/v1/models/org%2Fembed');
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['config', 'created_at', 'display_name', 'model_id', 'resource_requirements', 'status', 'task_type', 'updated_at', 'version']);
    assert.equal(body.status, 'registered');
    assert.equal(body.version, 'v2');
    assert.deepEqual(body.config, { max_length: 128 });
    assert.deepEqual(body.resource_requirements, { memory_mb: 300 });

    const dup = await register({ model_id: 'org/embed', task_type: 'txt2embed' });
    assert.equal(dup.statusCode, 409);
    const err = dup.json();
    assert.equal(err.error_code, 'MODEL_ALREADY_EXISTS');
    assert.match(err.trace_id, UUID);
    assert.equal(dup.headers['x-trace-id'], err.trace_id);
  });

  it('POST /models answers 400 VALIDATION_ERROR with one entry per field', async () => {
    const res = await register({ task_type: 'txt2everything', config: 'not an object' });
    assert.equal(res.statusCode, 400);
    const body = res.json();
    assert.equal(body.error_code, 'VALIDATION_ERROR');
    assert.deepEqual(body.validation_errors, [
      { field: 'model_id', message: 'is required' },
      { field: 'task_type', message: 'must be one of txt2embed, img2embed, txt2img, img2txt, txt2txt' },
      { field: 'config', message: 'must be object' },
    ]);
    const nested = await register({ model_id: 'org/x', task_type: 'txt2embed', resource_requirements: { memory_mb: -1 } });
    assert.deepEqual(nested.json().validation_errors, [{ field: 'resource_requirements.memory_mb', message: 'must be >= 0' }]);
  });

  it('POST /models refuses a bad id (INVALID_MODEL_ID) and a non-https source_url (URL_NOT_ALLOWED)', async () => {
    const bad = await register({ model_id: 'org/../etc', task_type: 'txt2embed' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error_code, 'INVALID_MODEL_ID');
    const url = await register({ model_id: 'org/x', task_type: 'txt2embed', source_url: 'http://169.254.169.254/latest' });
    assert.equal(url.statusCode, 400);
    assert.equal(url.json().error_code, 'URL_NOT_ALLOWED');
  });

  it('GET /models filters and paginates', async () => {
    for (const [id, task] of [['org/a', 'txt2embed'], ['org/b', 'txt2txt'], ['org/c', 'txt2embed'], ['org/d', 'txt2embed']]) {
      assert.equal((await register({ model_id: id, task_type: task })).statusCode, 201);
    }
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/models?task_type=txt2embed&page=2&page_size=2' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(body.data.map((m: { model_id: string }) => m.model_id), ['org/d']);
    assert.deepEqual(body.meta, { total: 3, page: 2, page_size: 2, total_pages: 2 });
    const none = await t.app.inject({ method: 'GET', url: '/api/v1/models?status=ready' });
    assert.deepEqual(none.json(), { data: [], meta: { total: 0, page: 1, page_size: 20, total_pages: 0 } });

    const bad = await t.app.inject({ method: 'GET', url: '/api/v1/models?page=0&page_size=101&task_type=nope' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json().validation_errors.map((e: { field: string }) => e.field).sort(), ['page', 'page_size', 'task_type']);
  });

  it('GET /models/{id} accepts the encoded and the raw id, 404s an unknown one and 400s a bad one', async () => {
    await register({ model_id: 'org/embed', task_type: 'txt2embed' });
    await register({ model_id: 'solo', task_type: 'txt2txt' });
    for (const url of ['/api/v1/models/org%2Fembed', '/api/v1/models/org%2fembed', '/api/v1/models/org/embed']) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.json().model_id, 'org/embed');
    }
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/models/solo' })).json().task_type, 'txt2txt');
    const missing = await t.app.inject({ method: 'GET', url: '/api/v1/models/org%2Fnope' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error_code, 'MODEL_NOT_FOUND');
    assert.equal(missing.json().message, "Model 'org/nope' not found in registry");
    const bad = await t.app.inject({ method: 'GET', url: '/api/v1/models/org--x' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error_code, 'INVALID_MODEL_ID');
  });

  it('PUT /models/{id} updates the editable fields', async () => {
    await register({ model_id: 'org/embed', task_type: 'txt2embed', description: 'old' });
    const res = await t.app.inject({ method: 'PUT', url: '/api/v1/models/org%2Fembed', payload: { description: 'new', config: { pooling: 'mean' } } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().description, 'new');
    assert.deepEqual(res.json().config, { pooling: 'mean' });
    assert.equal((await t.registry.get('org/embed')).description, 'new');
    const missing = await t.app.inject({ method: 'PUT', url: '/api/v1/models/org/nope', payload: { description: 'x' } });
    assert.equal(missing.statusCode, 404);
    const invalid = await t.app.inject({ method: 'PUT', url: '/api/v1/models/org/embed', payload: { display_name: { text: 'x' } } });
    assert.equal(invalid.statusCode, 400);
    assert.deepEqual(invalid.json().validation_errors, [{ field: 'display_name', message: 'must be string' }]);
  });

  it('DELETE /models/{id}: 204 when idle, 409 MODEL_IN_USE when loaded, force unloads then deletes', async () => {
    const removed: string[] = [];
    await t.close();
    t = await testApp({ removeFiles: async (id) => void removed.push(id) });
    await register({ model_id: 'org/idle', task_type: 'txt2embed' });
    await register({ model_id: 'org/busy', task_type: 'txt2embed' });
    await t.engine.load('org/busy');

    const idle = await t.app.inject({ method: 'DELETE', url: '/api/v1/models/org%2Fidle' });
    assert.equal(idle.statusCode, 204);
    assert.equal(idle.body, '');
    assert.deepEqual(removed, ['org/idle']);

    const busy = await t.app.inject({ method: 'DELETE', url: '/api/v1/models/org/busy' });
    assert.equal(busy.statusCode, 409);
    assert.equal(busy.json().error_code, 'MODEL_IN_USE');
    assert.equal(await t.registry.has('org/busy'), true);
    assert.deepEqual(t.engine.unloadCalls, []);

    const forced = await t.app.inject({ method: 'DELETE', url: '/api/v1/models/org/busy?force=true' });
    assert.equal(forced.statusCode, 204);
    assert.deepEqual(t.engine.unloadCalls, ['org/busy']);
    assert.equal(await t.registry.has('org/busy'), false);
    assert.deepEqual(removed, ['org/idle', 'org/busy']);

    assert.equal((await t.app.inject({ method: 'DELETE', url: '/api/v1/models/org/busy' })).statusCode, 404);
  });

  it('POST /models/{id}/download answers 202 at once and the background download flips status to ready', async () => {
    await register({ model_id: 'org/embed', task_type: 'txt2embed' });
    t.download.hang = true;
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/models/org%2Fembed/download' });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { model_id: 'org/embed', status: 'downloading', message: 'Download started in background' });
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/models/org/embed' })).json().status, 'downloading');

    // A second request while it runs starts nothing new.
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/models/org/embed/download' });
    assert.equal(again.statusCode, 202);
    assert.equal(again.json().message, 'Download already in progress');
    assert.deepEqual(t.downloaded, ['org/embed']);

    // Deleting a downloading model needs force, like a loaded one.
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/api/v1/models/org/embed' })).statusCode, 409);

    await t.services.downloads.cancel('org/embed');
    assert.equal((await t.registry.get('org/embed')).status, 'failed');
    t.download.hang = false;
    assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/models/org/embed/download' })).statusCode, 202);
    await t.services.downloads.idle();
    const done = (await t.app.inject({ method: 'GET', url: '/api/v1/models/org/embed' })).json();
    assert.equal(done.status, 'ready');
    assert.equal(done.error, undefined);
    assert.deepEqual(t.downloaded, ['org/embed', 'org/embed']);

    assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/models/org/nope/download' })).statusCode, 404);
  });

  it('a failed download leaves status failed with a safe message', async () => {
    await register({ model_id: 'org/embed', task_type: 'txt2embed' });
    t.download.fail = new ModelMoraError('DOWNLOAD_FAILED', 'Hub answered 503 for org/embed');
    await t.app.inject({ method: 'POST', url: '/api/v1/models/org/embed/download' });
    await t.services.downloads.idle();
    const body = (await t.app.inject({ method: 'GET', url: '/api/v1/models/org/embed' })).json();
    assert.equal(body.status, 'failed');
    assert.equal(body.error, 'Hub answered 503 for org/embed');

    t.download.fail = new Error('EACCES: /home/someone/.modelmora/cache/secret');
    await t.app.inject({ method: 'POST', url: '/api/v1/models/org/embed/download' });
    await t.services.downloads.idle();
    assert.equal((await t.registry.get('org/embed')).error, 'Download failed');
  });

  it('closing the services aborts running downloads and records them as failed', async () => {
    await register({ model_id: 'org/embed', task_type: 'txt2embed' });
    t.download.hang = true;
    assert.equal((await t.app.inject({ method: 'POST', url: '/api/v1/models/org/embed/download' })).statusCode, 202);
    await t.services.close();
    const record = await t.registry.get('org/embed');
    assert.equal(record.status, 'failed');
    assert.equal(record.error, 'Download cancelled');
  });

  it('GET and POST /models/lock answer the LockFile shape', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const res = await t.app.inject({ method, url: '/api/v1/models/lock' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), TEST_LOCK);
    }
  });
});
