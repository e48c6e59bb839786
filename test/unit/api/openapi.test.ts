import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testApp, type TestApp } from '../../support/rest-app.js';

interface Operation {
  operationId?: string;
  tags?: string[];
  responses: Record<string, unknown>;
}

describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: { openapi: string; info: { version: string }; servers: Array<{ url: string }>; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };
  before(async () => {
    t = await testApp();
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    assert.equal(res.statusCode, 200);
    doc = res.json();
  });
  after(() => t.close());

  it('lists every REST operation once, relative to /api/v1', () => {
    const operations = Object.entries(doc.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    assert.deepEqual(operations, [
      'DELETE /models/{model_id}',
      'GET /artifacts/{id}',
      'GET /health/live',
      'GET /health/models',
      'GET /health/ready',
      'GET /metrics',
      'GET /models',
      'GET /models/lock',
      'GET /models/{model_id}',
      'GET /status',
      'POST /infer/{model_id}',
      'POST /models',
      'POST /models/lock',
      'POST /models/{model_id}/download',
      'POST /models/{model_id}/load',
      'POST /models/{model_id}/unload',
      'PUT /models/{model_id}',
    ]);
    assert.equal(doc.openapi, '3.0.3');
    assert.equal(doc.info.version, '0.1.0-test');
    assert.deepEqual(doc.servers.map((s) => s.url), ['/api/v1']);
  });

  it('gives every operation a unique operationId, a tag and documented answers', () => {
    const ids = Object.values(doc.paths).flatMap((methods) => Object.values(methods).map((op) => op.operationId));
    assert.equal(new Set(ids).size, ids.length);
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        assert.ok(op.operationId, `${method} ${path} operationId`);
        assert.equal(op.tags?.length, 1, `${method} ${path} tags`);
        assert.ok(Object.keys(op.responses).some((s) => s.startsWith('2')), `${method} ${path} success answer`);
      }
    }
    assert.ok(doc.paths['/infer/{model_id}']?.['post']?.responses['429']);
  });

  it('names the shared schemas as the API document does', () => {
    for (const name of ['Error', 'ValidationError', 'ModelResponse', 'RegisterModelRequest', 'UpdateModelRequest', 'TaskType', 'ResourceRequirements', 'PaginationMeta', 'LockFile', 'InferenceRequest', 'InferenceResponse', 'ModelStatusResponse']) {
      assert.ok(doc.components.schemas[name], name);
    }
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /swagger/i);
  });
});
