import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alternate, formatNumber, percentile, summarize } from '../../../bench/harness/stats.js';

describe('bench stats', () => {
  test('summarize gives the median (mean of the middle two when even), min, max and the runs in order', () => {
    assert.deepEqual(summarize([5, 1, 3]), { median: 3, min: 1, max: 5, runs: [5, 1, 3] });
    assert.equal(summarize([4, 1, 3, 2]).median, 2.5);
    assert.throws(() => summarize([]), /no measured runs/);
  });

  test('percentile interpolates between ranks', () => {
    const sorted = Array.from({ length: 101 }, (_, i) => i);
    assert.equal(percentile(sorted, 99), 99);
    assert.equal(percentile([10, 20], 50), 15);
    assert.equal(percentile([10, 20, 30, 40], 100), 40);
  });

  test('alternate runs the sides in turn and drops the warm-up rounds', async () => {
    const calls: string[] = [];
    let a = 0;
    let b = 100;
    const result = await alternate(
      {
        a: async () => {
          calls.push('a');
          return a++;
        },
        b: async () => {
          calls.push('b');
          return b++;
        },
      },
      { runs: 5, warmups: 1 },
    );
    assert.deepEqual(calls, ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    assert.deepEqual(result.a.runs, [1, 2, 3, 4, 5]);
    assert.deepEqual(result.b.runs, [101, 102, 103, 104, 105]);
    assert.equal(result.a.median, 3);
  });

  test('alternate settles before every run, warm-ups included', async () => {
    const calls: string[] = [];
    await alternate(
      { a: async () => (calls.push('a'), 1), b: async () => (calls.push('b'), 2) },
      { runs: 2, warmups: 1, settle: async () => void calls.push('settle') },
    );
    assert.deepEqual(calls, ['settle', 'a', 'settle', 'b', 'settle', 'a', 'settle', 'b', 'settle', 'a', 'settle', 'b']);
  });

  test('formatNumber keeps 3 significant digits', () => {
    assert.equal(formatNumber(1234567), '1,230,000');
    assert.equal(formatNumber(0.012345), '0.0123');
    assert.equal(formatNumber(42), '42');
    assert.equal(formatNumber(0), '0');
  });
});
