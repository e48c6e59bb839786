import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { buildEmbeddingModel, writeModelFolder, type WordVectorTable } from '../../../scripts/glove/embedding-model.js';
import { ALWAYS_INCLUDE, SPECIAL_TOKENS } from '../../../scripts/glove/vocabulary.js';
import { quantizeRows, weightRows } from '../../../scripts/glove/word-weights.js';

const DIMS = 100;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** 2000 words with seeded pseudo-random vectors: no download needed. */
function syntheticTable(seed: number): WordVectorTable {
  let state = seed >>> 0;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  const words = [...new Set(ALWAYS_INCLUDE)];
  for (let i = 0; words.length < 2000; i++) words.push(`w${i}`);
  // Integer-like and prototype-like tokens check the hand-written vocabulary JSON.
  words.push('1990', '__proto__');
  return {
    dimensions: DIMS,
    sourceSize: 400_000,
    entries: words.map((word, rank) => ({ word, rank: rank * 3, vector: Float32Array.from({ length: DIMS }, () => random() * 2) })),
  };
}

const OPTIONS = { modelName: 'test/glove-synthetic', source: 'synthetic', rebuildCommand: 'none' };

function buildInto(table: WordVectorTable): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'modelmora-glove-build-'));
  dirs.push(dir);
  writeModelFolder(dir, buildEmbeddingModel(table, OPTIONS));
  return dir;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.includes('.'))
    .map((f) => f.split(path.sep).join('/'))
    .sort();
}

test('building twice from the same vectors gives byte-identical folders', () => {
  const a = buildInto(syntheticTable(7));
  const b = buildInto(syntheticTable(7));
  const files = listFiles(a);
  assert.deepEqual(files, [
    '1_Pooling/config.json',
    'README.md',
    'config.json',
    'modules.json',
    'onnx/model.onnx',
    'special_tokens_map.json',
    'tokenizer.json',
    'tokenizer_config.json',
  ]);
  assert.deepEqual(listFiles(b), files);
  for (const f of files) assert.ok(readFileSync(path.join(a, f)).equals(readFileSync(path.join(b, f))), f);
  // ...and different vectors give a different graph, so the comparison above can fail.
  const c = buildInto(syntheticTable(8));
  assert.ok(!readFileSync(path.join(a, 'onnx/model.onnx')).equals(readFileSync(path.join(c, 'onnx/model.onnx'))));
});

test('tokenizer.json lists the special tokens first, then the words in rank order, ids in order', () => {
  const table = syntheticTable(7);
  const files = buildEmbeddingModel(table, OPTIONS);
  const tokenizer = JSON.parse(new TextDecoder().decode(files.get('tokenizer.json'))) as {
    model: { type: string; vocab: Record<string, number> };
    added_tokens: { content: string; id: number }[];
  };
  const expected = [...SPECIAL_TOKENS, ...table.entries.map((e) => e.word)];
  const vocab = new Map(Object.entries(tokenizer.model.vocab));
  assert.equal(vocab.size, expected.length);
  expected.forEach((token, id) => assert.equal(vocab.get(token), id, token));
  assert.deepEqual(tokenizer.added_tokens.map((t) => [t.content, t.id]), SPECIAL_TOKENS.map((t, i) => [t, i]));
  const config = JSON.parse(new TextDecoder().decode(files.get('config.json'))) as Record<string, unknown>;
  assert.equal(config['vocab_size'], expected.length);
  assert.equal(config['hidden_size'], DIMS);
  assert.equal(config['model_type'], 'bert');
});

test('the graph gathers the dequantised rows, zeroes special tokens and masked positions', async () => {
  const table = syntheticTable(11);
  const files = buildEmbeddingModel(table, OPTIONS);
  const session = await ort.InferenceSession.create(files.get('onnx/model.onnx') as Uint8Array);
  assert.deepEqual([...session.inputNames].sort(), ['attention_mask', 'input_ids', 'token_type_ids']);
  assert.deepEqual([...session.outputNames], ['last_hidden_state']);

  // Masked positions carry word ids, not [PAD], so a zero there proves the graph applies the mask.
  const ids = [2, 5, 6, 900, 3, 7, 2, 2006, 3, 8, 9, 10];
  const mask = [1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0];
  const tensor = (v: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), [2, 6]);
  const result = await session.run({ input_ids: tensor(ids), attention_mask: tensor(mask), token_type_ids: tensor(ids.map(() => 0)) });
  const out = result['last_hidden_state'] as ort.Tensor;
  assert.deepEqual(out.dims, [2, 6, DIMS]);
  const data = out.data as Float32Array;

  // Reference: the same weighting and quantisation, row by row.
  const weighted = weightRows(table.entries.map((e) => e.vector), table.entries.map((e) => e.rank), DIMS, {
    a: 1e-3,
    sourceSize: table.sourceSize,
    removeCommonDirection: true,
  });
  const q = quantizeRows(weighted, DIMS);
  ids.forEach((id, t) => {
    for (let d = 0; d < DIMS; d++) {
      const got = data[t * DIMS + d] ?? NaN;
      const word = id - SPECIAL_TOKENS.length;
      if (mask[t] === 0 || word < 0) {
        assert.ok(got === 0, `token ${t} (id ${id}) dim ${d}: ${got}`); // -0 counts as zero
        continue;
      }
      const scale = q.scales[word] ?? NaN;
      assert.equal(got, Math.fround((q.values[word * DIMS + d] ?? NaN) * scale));
      // And the dequantised value is within half a step of the float weight.
      assert.ok(Math.abs(got - (weighted[word * DIMS + d] ?? NaN)) <= scale / 2 + 1e-7);
    }
  });
  await session.release();
});
