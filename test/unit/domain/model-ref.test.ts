import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { ModelRef } from '../../../src/domain/model-ref.js';

const BAD_IDS = [
  '../../etc/passwd',
  'a/../../b',
  '/etc/passwd',
  'x--y',
  'x.git',
  'a'.repeat(97),
  'modèle',
  'a\u0000b',
  'a\uff0e\uff0e/b',
  '',
  'org/name/extra',
  '.hidden',
  'org/',
  '..',
  'org%2F..%2Fx',
];

for (const id of BAD_IDS) {
  test(`rejects ${JSON.stringify(id).slice(0, 40)} as INVALID_MODEL_ID`, () => {
    assert.throws(
      () => ModelRef.parse(id),
      (err: unknown) => err instanceof ModelMoraError && err.code === 'INVALID_MODEL_ID' && err.httpStatus === 400,
    );
  });
}

test('accepts org/name, name, and the URL-encoded form', () => {
  const ref = ModelRef.parse('sentence-transformers/all-MiniLM-L6-v2');
  assert.equal(ref.org, 'sentence-transformers');
  assert.equal(ref.name, 'all-MiniLM-L6-v2');
  assert.equal(ref.cacheFolder, 'models--sentence-transformers--all-MiniLM-L6-v2');
  assert.equal(ModelRef.parse('sentence-transformers%2Fall-MiniLM-L6-v2').id, ref.id);
  assert.equal(ModelRef.parse('gpt2').org, undefined);
  assert.equal(ModelRef.parse('a'.repeat(96)).name.length, 96);
});
