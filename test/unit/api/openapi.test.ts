import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPI } from 'openapi-types';
import { after, before, describe, it } from 'node:test';
import { testApp, type TestApp } from '../../support/rest-app.js';

interface Operation {
  operationId?: string;
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }>; schema?: { $ref?: string } }> };
  'x-modelmora-extension'?: boolean;
}

describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: { openapi: string; info: { version: string; contact?: { name: string; email: string } }; servers: Array<{ url: string }>; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };
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
    assert.deepEqual(doc.servers.map((s) => s.url), ['/api/v1', 'http://localhost:8000/api/v1', 'https://modelmora.miraveja.com/api/v1']);
    assert.deepEqual(doc.info.contact, { name: 'MiraVeja Team', email: 'support@miraveja.com' });
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

  it('is a valid OpenAPI 3 document (swagger-parser)', async () => {
    // validate() dereferences in place: it gets a copy. It throws on the first violation.
    const valid = await SwaggerParser.validate(structuredClone(doc) as unknown as OpenAPI.Document);
    assert.equal('openapi' in valid && valid.openapi, '3.0.3');
  });

  const operations = () => Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })));
  const schemaOf = (op: Operation, status: string) => op.responses[status]?.content?.['application/json']?.schema?.$ref;

  it('answers every 400 with the ValidationError schema, POST /models included', () => {
    assert.equal(schemaOf(doc.paths['/models']!['post']!, '400'), '#/components/schemas/ValidationError');
    const with400 = operations().filter(({ op }) => op.responses['400']);
    assert.ok(with400.length > 5);
    for (const { name, op } of with400) assert.equal(schemaOf(op, '400'), '#/components/schemas/ValidationError', name);
  });

  it('declares 401 and 403 on every operation the global BearerAuth covers, and none on open ones', () => {
    for (const { name, op } of operations()) {
      const open = Array.isArray(op.security) && op.security.length === 0;
      assert.equal(Boolean(op.responses['401']), !open, `${name} 401`);
      assert.equal(Boolean(op.responses['403']), !open, `${name} 403`);
    }
    assert.ok(doc.paths['/health/live']!['get']!.security?.length === 0, 'probes are open');
  });

  it('names InputData and OutputData and refers to them', () => {
    const schemas = doc.components.schemas as Record<string, { properties?: Record<string, { $ref?: string }> }>;
    assert.ok(schemas['InputData']?.properties?.['text']);
    assert.ok(schemas['OutputData']?.properties?.['embedding']);
    assert.equal(schemas['InferenceRequest']?.properties?.['input_data']?.$ref, '#/components/schemas/InputData');
    assert.equal(schemas['InferenceResponse']?.properties?.['output_data']?.$ref, '#/components/schemas/OutputData');
  });

  it("carries the document's named request examples", () => {
    const examples = (path: string) => Object.keys(doc.paths[path]!['post']!.requestBody?.content['application/json']?.examples ?? {}).sort();
    assert.deepEqual(examples('/models'), ['embedding_model', 'image_gen_model']);
    assert.deepEqual(examples('/infer/{model_id}'), ['image_generation', 'text_embedding', 'text_generation']);
  });

  it("marks the routes ModelMora adds beyond the document as extensions, and only those", () => {
    const extensions = operations().filter(({ op }) => op['x-modelmora-extension'] === true).map(({ name }) => name).sort();
    assert.deepEqual(extensions, ['GET /artifacts/{id}', 'GET /models/lock']);
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /swagger/i);
  });
});
