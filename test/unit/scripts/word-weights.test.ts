import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commonDirection, quantizeRows, weightRows, zipfProbabilities } from '../../../scripts/glove/word-weights.js';

test('Zipf probabilities over the whole source sum to 1 and halve from rank 0 to rank 1', () => {
  const ranks = Array.from({ length: 1000 }, (_, i) => i);
  const p = zipfProbabilities(ranks, 1000);
  const sum = p.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-12, String(sum));
  assert.ok(Math.abs((p[0] ?? 0) / (p[1] ?? 1) - 2) < 1e-12);
});

test('SIF weighting shrinks frequent words far more than rare ones', () => {
  const one = Float32Array.from([1, 0]);
  const rows = weightRows([one, one, one], [0, 100, 100_000], 2, { a: 1e-3, sourceSize: 341_479, removeCommonDirection: false });
  const [the, mid, rare] = [rows[0] ?? 0, rows[2] ?? 0, rows[4] ?? 0];
  // p(rank 0) ~ 1/13.3 -> weight ~ 0.013; p(rank 100_000) ~ 7.5e-7 -> weight ~ 0.999.
  assert.ok(the > 0.01 && the < 0.02, String(the));
  assert.ok(mid > 0.5 && mid < 0.65, String(mid));
  assert.ok(rare > 0.99 && rare <= 1, String(rare));
});

test('removing the common direction leaves every row orthogonal to it', () => {
  // Rows that share a strong common component along (1, 1, 1).
  const vectors = [
    [3, 1, 2],
    [2, 3, 1],
    [1, 2, 3],
    [2.5, 2, 2.2],
  ].map((v) => Float32Array.from(v));
  const ranks = [0, 1, 2, 3];
  const options = { a: 1e-3, sourceSize: 10, removeCommonDirection: false };
  const before = weightRows(vectors, ranks, 3, options);
  const u = commonDirection(before, zipfProbabilities(ranks, 10), 3);
  assert.ok(Math.abs(Math.abs(u[0] ?? 0) - 1 / Math.sqrt(3)) < 0.05, `u = ${Array.from(u).join(',')}`);
  const after = weightRows(vectors, ranks, 3, { ...options, removeCommonDirection: true });
  for (let i = 0; i < 4; i++) {
    const dot = (after[i * 3] ?? 0) * (u[0] ?? 0) + (after[i * 3 + 1] ?? 0) * (u[1] ?? 0) + (after[i * 3 + 2] ?? 0) * (u[2] ?? 0);
    assert.ok(Math.abs(dot) < 1e-12, `row ${i}: ${dot}`);
  }
});

test('per-row int8 quantisation: max maps to 127, error within half a step, zero rows stay zero', () => {
  const rows = Float64Array.from([0.5, -0.2, 0.1, 0, 0, 0, -2, 1.1, 0.003]);
  const q = quantizeRows(rows, 3);
  assert.deepEqual(Array.from(q.values), [127, -51, 25, 0, 0, 0, -127, 70, 0]);
  assert.deepEqual(Array.from(q.scales), [Math.fround(0.5 / 127), 0, Math.fround(2 / 127)]);
  rows.forEach((x, i) => {
    const scale = q.scales[Math.floor(i / 3)] ?? 0;
    assert.ok(Math.abs((q.values[i] ?? 0) * scale - x) <= scale / 2 + 1e-12);
  });
});
