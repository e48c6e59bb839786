/**
 * The MiniLM-cost graph the benchmarks generate: it must run in onnxruntime-node, be a real
 * encoder (attention that honours the mask, a final LayerNorm), be reproducible from its seed,
 * and have MiniLM's size. Checked on a tiny shape, except the size.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { encodeOnnxModel } from '../../../scripts/onnx/onnx-model.js';
import { MINILM_SHAPE, miniLmCostGraph, type BertShape } from '../../../scripts/fixtures/minilm-cost-graph.js';

const TINY: BertShape = { layers: 2, hidden: 16, heads: 4, intermediate: 32, vocab: 50, maxPositions: 16, typeVocab: 2 };

function feeds(rows: number[][], length: number): Record<string, ort.Tensor> {
  const ids = new BigInt64Array(rows.length * length);
  const mask = new BigInt64Array(rows.length * length);
  rows.forEach((row, r) =>
    row.forEach((id, t) => {
      ids[r * length + t] = BigInt(id);
      mask[r * length + t] = 1n;
    }),
  );
  const dims = [rows.length, length];
  return {
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(rows.length * length), dims),
  };
}

async function session(seed = 1): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeOnnxModel(miniLmCostGraph(TINY, seed)));
}

describe('MiniLM-cost graph', () => {
  test('runs in onnxruntime-node and ends in a LayerNorm: every token vector has mean 0 and variance 1', async () => {
    const s = await session();
    const out = (await s.run(feeds([[2, 10, 11, 12, 3]], 5))).last_hidden_state!;
    assert.deepEqual(out.dims, [1, 5, TINY.hidden]);
    const data = out.data as Float32Array;
    for (let t = 0; t < 5; t++) {
      const v = data.subarray(t * TINY.hidden, (t + 1) * TINY.hidden);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
      assert.ok(Math.abs(mean) < 1e-4, `mean ${mean}`);
      assert.ok(Math.abs(variance - 1) < 1e-3, `variance ${variance}`);
    }
  });

  test('attention honours the mask: padding a sequence in a batch leaves its tokens unchanged, and tokens see each other', async () => {
    const s = await session();
    const alone = (await s.run(feeds([[2, 10, 11, 3]], 4))).last_hidden_state!.data as Float32Array;
    const batched = (await s.run(feeds([[2, 10, 11, 3], [2, 20, 21, 22, 23, 24, 3]], 7))).last_hidden_state!.data as Float32Array;
    for (let i = 0; i < 4 * TINY.hidden; i++) assert.ok(Math.abs(alone[i]! - batched[i]!) < 1e-4, `value ${i}: ${alone[i]} vs ${batched[i]}`);
    // Changing one token changes the others' outputs: attention mixes positions.
    const changed = (await s.run(feeds([[2, 10, 12, 3]], 4))).last_hidden_state!.data as Float32Array;
    const firstToken = (a: Float32Array) => Array.from(a.subarray(0, TINY.hidden));
    assert.notDeepEqual(firstToken(changed), firstToken(alone));
  });

  test('the seed fixes the bytes', () => {
    const a = encodeOnnxModel(miniLmCostGraph(TINY, 7));
    assert.deepEqual(encodeOnnxModel(miniLmCostGraph(TINY, 7)), a);
    assert.notDeepEqual(encodeOnnxModel(miniLmCostGraph(TINY, 8)), a);
  });

  test('the full shape has MiniLM-L6 size: about 22.7M float32 parameters (~90 MB) in 6 layers', () => {
    const graph = miniLmCostGraph(MINILM_SHAPE).graph;
    const floats = graph.initializers.filter((t) => t.dataType === 1).reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0);
    assert.ok(floats > 22.5e6 && floats < 22.8e6, `${floats} parameters`);
    assert.equal(graph.nodes.filter((n) => n.opType === 'Softmax').length, 6);
    assert.equal(graph.nodes.filter((n) => n.opType === 'LayerNormalization').length, 13);
    assert.equal(graph.nodes.filter((n) => n.opType === 'Erf').length, 6);
  });
});
