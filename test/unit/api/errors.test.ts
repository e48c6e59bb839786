import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fieldErrorsFromAjv, toHttpError } from '../../../src/api/rest/errors.js';
import { testApp, type TestApp } from '../../support/rest-app.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('REST error answers', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
  });
  after(() => t.close());

  it('answers an unknown route with 404 NOT_FOUND in the Error shape', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/nothing/here?x=1' });
    assert.equal(res.statusCode, 404);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['error_code', 'message', 'trace_id']);
    assert.equal(body.error_code, 'NOT_FOUND');
    assert.equal(body.message, 'No route GET /api/v1/nothing/here');
    assert.match(body.trace_id, UUID);
    assert.equal(res.headers['x-trace-id'], body.trace_id);
  });

  it('keeps a caller-supplied uuid x-trace-id and replaces anything else', async () => {
    const given = '123e4567-e89b-12d3-a456-426614174000';
    const kept = await t.app.inject({ method: 'GET', url: '/api/v1/models/org%2Fnope', headers: { 'x-trace-id': given } });
    assert.equal(kept.headers['x-trace-id'], given);
    assert.equal(kept.json().trace_id, given);
    const replaced = await t.app.inject({ method: 'GET', url: '/api/v1/models/org%2Fnope', headers: { 'x-trace-id': 'not-a-uuid' } });
    assert.match(replaced.json().trace_id, UUID);
    assert.notEqual(replaced.json().trace_id, 'not-a-uuid');
  });

  it('maps body problems to VALIDATION_ERROR (400) and PAYLOAD_TOO_LARGE (413)', async () => {
    const wrongType = await t.app.inject({ method: 'POST', url: '/api/v1/models', headers: { 'content-type': 'text/csv' }, payload: 'a,b' });
    assert.equal(wrongType.statusCode, 400);
    assert.deepEqual(wrongType.json().validation_errors, [{ field: 'content-type', message: 'must be application/json' }]);
    const empty = await t.app.inject({ method: 'POST', url: '/api/v1/models', headers: { 'content-type': 'application/json' }, payload: '' });
    assert.equal(empty.statusCode, 400);
    assert.equal(empty.json().error_code, 'VALIDATION_ERROR');
    const big = await t.app.inject({ method: 'POST', url: '/api/v1/models', payload: { model_id: 'org/x', task_type: 'txt2embed', description: 'x'.repeat(1024 * 1024) } });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error_code, 'PAYLOAD_TOO_LARGE');
  });

  it('names fields as a client writes them', () => {
    assert.deepEqual(
      fieldErrorsFromAjv([
        { instancePath: '', keyword: 'required', params: { missingProperty: 'model_id' }, message: "must have required property 'model_id'" },
        { instancePath: '/input_data', keyword: 'required', params: { missingProperty: 'text' } },
        { instancePath: '/input_data/text/2', keyword: 'type', message: 'must be string' },
        { instancePath: '/input_data/text/2', keyword: 'oneOf', message: 'must match exactly one schema in oneOf' },
        { instancePath: '/config/a~1b', keyword: 'type', message: 'must be number' },
        { instancePath: '', keyword: 'additionalProperties', params: { additionalProperty: 'extra' } },
        { instancePath: '', keyword: 'type', message: 'must be object' },
      ]),
      [
        { field: 'model_id', message: 'is required' },
        { field: 'input_data.text', message: 'is required' },
        { field: 'input_data.text[2]', message: 'must be string' },
        { field: 'config.a/b', message: 'must be number' },
        { field: 'extra', message: 'is not allowed' },
        { field: 'body', message: 'must be object' },
      ],
    );
    assert.deepEqual(fieldErrorsFromAjv([{ instancePath: '', keyword: 'type', message: 'must be object' }], 'querystring'), [
      { field: 'querystring', message: 'must be object' },
    ]);
  });

  it('never passes the text of an unknown error on', () => {
    const err = toHttpError(new Error('EACCES /root/.modelmora/registry.json'));
    assert.equal(err.code, 'INTERNAL_ERROR');
    assert.equal(err.message, 'Internal error');
    assert.equal(err.httpStatus, 500);
  });
});
