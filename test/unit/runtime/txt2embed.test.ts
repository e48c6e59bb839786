import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '@huggingface/transformers';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { l2Normalize, normalizeInPlace, parseTxt2EmbedConfig, pool } from '../../../src/runtime/tasks/txt2embed.js';

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

test('mean pooling sums in float64 in token order, as an accumulator array would; a row with no token stays zero', () => {
  const [count, seq, dim] = [3, 4, 5];
  const data = Float32Array.from({ length: count * seq * dim }, (_, i) => Math.sin(i * 1.7) * 10 ** ((i % 7) - 3));
  // Row 0 all tokens, row 1 tokens 0 and 2, row 2 none.
  const maskValues = [1n, 1n, 1n, 1n, 1n, 0n, 1n, 0n, 0n, 0n, 0n, 0n];
  const pooled = pool(new Tensor('float32', data, [count, seq, dim]), new Tensor('int64', BigInt64Array.from(maskValues), [count, seq]), 'mean');
  for (let i = 0; i < count; i++) {
    const sum = new Float64Array(dim);
    let tokens = 0;
    for (let t = 0; t < seq; t++) {
      if (maskValues[i * seq + t] === 0n) continue;
      tokens++;
      for (let k = 0; k < dim; k++) sum[k]! += data[(i * seq + t) * dim + k]!;
    }
    const expected = Float32Array.from(sum, (s) => (tokens > 0 ? s / tokens : 0));
    assert.deepEqual(pooled[i], expected, `row ${i}`);
  }
  // The rows share one buffer, each its own slice of it.
  assert.equal(pooled[0]!.buffer, pooled[2]!.buffer);
  assert.equal(pooled[1]!.byteOffset, dim * 4);
});

test('normalizeInPlace writes over its argument; l2Normalize leaves it as it was', () => {
  const vector = new Float32Array([3, 4]);
  assert.deepEqual(l2Normalize(vector), new Float32Array([0.6, 0.8]));
  assert.deepEqual(vector, new Float32Array([3, 4]));
  assert.equal(normalizeInPlace(vector), vector);
  assert.deepEqual(vector, new Float32Array([0.6, 0.8]));
});
