import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '@huggingface/transformers';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { l2Normalize, parseTxt2EmbedConfig, pool } from '../../../src/runtime/tasks/txt2embed.js';

test('config defaults: mean pooling, normalized, tokenizer max length', () => {
  assert.deepEqual(parseTxt2EmbedConfig({}), { pooling: 'mean', normalize: true, maxLength: undefined, dtype: undefined });
  assert.deepEqual(parseTxt2EmbedConfig({ pooling: 'cls', normalize: false, max_length: 16, dtype: 'q8' }), {
    pooling: 'cls',
    normalize: false,
    maxLength: 16,
    dtype: 'q8',
  });
});

test('a bad config fails the load with MODEL_LOAD_FAILED', () => {
  for (const config of [{ pooling: 'max' }, { normalize: 'yes' }, { max_length: 0 }, { max_length: 2.5 }, { dtype: 'fp64' }]) {
    assert.throws(
      () => parseTxt2EmbedConfig(config),
      (err: unknown) => err instanceof ModelMoraError && err.code === 'MODEL_LOAD_FAILED',
      JSON.stringify(config),
    );
  }
});

test('mean pooling averages only unmasked tokens; cls takes the first token', () => {
  // Two rows, three tokens, two dims; row 1 is padded after its second token.
  const hidden = new Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 99, 99]), [2, 3, 2]);
  const mask = new Tensor('int64', new BigInt64Array([1n, 1n, 1n, 1n, 1n, 0n]), [2, 3]);
  assert.deepEqual(pool(hidden, mask, 'mean'), [new Float32Array([3, 4]), new Float32Array([20, 30])]);
  assert.deepEqual(pool(hidden, mask, 'cls'), [new Float32Array([1, 2]), new Float32Array([10, 20])]);
});

test('l2Normalize gives unit length and leaves a zero vector at zero', () => {
  assert.deepEqual(l2Normalize(new Float32Array([3, 4])), new Float32Array([0.6, 0.8]));
  assert.deepEqual(l2Normalize(new Float32Array([0, 0])), new Float32Array([0, 0]));
});
