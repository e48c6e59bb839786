import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ctcGreedyDecode, parseDictionary } from '../../../../src/runtime/ocr/ctc.js';

test('the dictionary: blank at 0, one class per line (LF or CRLF), the space class last', () => {
  const dictionary = parseDictionary('a\r\nb\nc\n');
  assert.deepEqual(dictionary.characters, ['', 'a', 'b', 'c', ' ']);
  assert.equal(dictionary.space, 4);
  const noSpace = parseDictionary('a\nb', false);
  assert.deepEqual(noSpace.characters, ['', 'a', 'b']);
  assert.equal(noSpace.space, -1);
});

/** A [1, steps, 5] probability tensor over classes blank,a,b,c,space: each step puts `p` on its class. */
function steps(rows: { best: number; p?: number; space?: number }[]): Float32Array {
  const probs = new Float32Array(rows.length * 5);
  rows.forEach(({ best, p = 0.9, space = 0 }, t) => {
    probs[t * 5 + best] = p;
    if (best !== 4) probs[t * 5 + 4] = space;
    // The rest of the mass goes to another class so rows sum to 1 without changing the argmax.
    const other = best === 0 ? 1 : 0;
    probs[t * 5 + other]! += Math.max(0, 1 - p - (best !== 4 ? space : 0));
  });
  return probs;
}

const dictionary = parseDictionary('a\nb\nc');

test('greedy CTC merges repeats, drops blanks, and a blank between repeats keeps both', () => {
  // a a _ b b _ b c -> "abbc"
  const probs = steps([{ best: 1 }, { best: 1 }, { best: 0 }, { best: 2 }, { best: 2 }, { best: 0 }, { best: 2 }, { best: 3 }]);
  const decoded = ctcGreedyDecode(probs, 0, 8, 5, dictionary);
  assert.equal(decoded.text, 'abbc');
  assert.ok(Math.abs(decoded.score - 0.9) < 1e-6);
  assert.deepEqual(ctcGreedyDecode(steps([{ best: 0 }, { best: 0 }]), 0, 2, 5, dictionary), { text: '', score: 0 });
});

test('decodes the requested row of a batch', () => {
  const probs = new Float32Array([...steps([{ best: 1 }, { best: 0 }]), ...steps([{ best: 3 }, { best: 2 }])]);
  assert.equal(ctcGreedyDecode(probs, 0, 2, 5, dictionary).text, 'a');
  assert.equal(ctcGreedyDecode(probs, 1, 2, 5, dictionary).text, 'cb');
});

test('a word gap whose space probability peaks at the threshold reads as a space', () => {
  // a _ _ b: the space class reaches 0.3 inside the gap but the blank wins every step.
  const gap = steps([{ best: 1 }, { best: 0, p: 0.6, space: 0.05 }, { best: 0, p: 0.6, space: 0.3 }, { best: 2 }]);
  assert.equal(ctcGreedyDecode(gap, 0, 4, 5, dictionary, 0.3).text, 'a b');
  assert.equal(ctcGreedyDecode(gap, 0, 4, 5, dictionary, 0.31).text, 'ab');
  assert.equal(ctcGreedyDecode(gap, 0, 4, 5, dictionary).text, 'ab', 'off by default (threshold 1)');
  // Blanks before the first and after the last character never make a space.
  const edges = steps([{ best: 0, p: 0.6, space: 0.3 }, { best: 1 }, { best: 0, p: 0.6, space: 0.3 }]);
  assert.equal(ctcGreedyDecode(edges, 0, 3, 5, dictionary, 0.1).text, 'a');
});

test('a space class that wins is kept once, never leading, doubled or trailing', () => {
  const probs = steps([{ best: 4 }, { best: 1 }, { best: 4 }, { best: 0, p: 0.6, space: 0.3 }, { best: 4 }, { best: 2 }, { best: 4 }]);
  assert.equal(ctcGreedyDecode(probs, 0, 7, 5, dictionary, 0.1).text, 'a b');
});
