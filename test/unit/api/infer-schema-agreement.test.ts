import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { documentInput } from '../../../src/api/rest/infer.js';
import { SHARED_SCHEMAS } from '../../../src/api/rest/schemas.js';
import { toInferenceRequest } from '../../../src/services/inference-input.js';
import { TEST_LIMITS } from '../../support/services.js';

/*
 * The infer routes leave body validation to InferenceService (one validator for every skin, with
 * per-task limits and the document's field names in its errors), so fastify does not enforce the
 * route's documented InferenceRequest schema. This holds the two to each other: every body the
 * documented schema refuses, the service refuses too, and the bodies the document shows as
 * valid pass both. (The service refuses more: limits and task rules a schema cannot know.)
 */

const ajv = new Ajv({ strict: false, allErrors: true });
for (const schema of SHARED_SCHEMAS) ajv.addSchema(schema);
const schemaAccepts = ajv.getSchema('InferenceRequest')!;

function serviceAccepts(body: unknown): boolean {
  try {
    toInferenceRequest('org/embed', documentInput(body), TEST_LIMITS, { taskType: 'txt2embed' });
    return true;
  } catch {
    return false;
  }
}

const VALID: Array<[string, unknown]> = [
  ['one text', { input_data: { text: 'hello' } }],
  ['a list of texts', { input_data: { text: ['a', 'b'] } }],
  ['all the optional fields', { input_data: { text: 'x' }, parameters: { normalize: true }, priority: 'high', timeout_seconds: 30 }],
  ['the longest timeout', { input_data: { text: 'x' }, timeout_seconds: 600 }],
];

const INVALID: Array<[string, unknown]> = [
  ['no input_data', {}],
  ['input_data not an object', { input_data: 'hello' }],
  ['text a number', { input_data: { text: 5 } }],
  ['a list with a number', { input_data: { text: ['a', 3] } }],
  ['an unknown priority', { input_data: { text: 'x' }, priority: 'urgent' }],
  ['timeout 0', { input_data: { text: 'x' }, timeout_seconds: 0 }],
  ['timeout over 600', { input_data: { text: 'x' }, timeout_seconds: 601 }],
  ['timeout not an integer', { input_data: { text: 'x' }, timeout_seconds: 1.5 }],
  ['parameters not an object', { input_data: { text: 'x' }, parameters: 'fast' }],
  ['a body that is a list', [{ input_data: { text: 'x' } }]],
];

describe('the documented InferenceRequest schema and the service validator agree', () => {
  for (const [name, body] of VALID) {
    it(`both accept: ${name}`, () => {
      assert.equal(schemaAccepts(body), true, JSON.stringify(schemaAccepts.errors));
      assert.equal(serviceAccepts(body), true);
    });
  }
  for (const [name, body] of INVALID) {
    it(`both refuse: ${name}`, () => {
      assert.equal(schemaAccepts(body), false, 'the schema documents it as invalid');
      assert.equal(serviceAccepts(body), false, 'so the service must refuse it');
    });
  }
});
