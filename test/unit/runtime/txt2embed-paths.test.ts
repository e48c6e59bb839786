import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LoadSpec } from '../../../src/domain/runner.js';
import { loadPipelineEncoder } from '../../../src/runtime/tasks/txt2embed-pipeline.js';
import { l2Normalize, loadTxt2Embed, parseTxt2EmbedConfig, pool } from '../../../src/runtime/tasks/txt2embed.js';

// txt2embed runs an encoder-only graph through onnxruntime directly and anything else through
// transformers.js; both must give the vectors the transformers.js pipeline gives.
const MODELS = fileURLToPath(new URL('../../../../test/fixtures/models/', import.meta.url));
const TEXTS = ['hello world', 'a somewhat longer sentence, padded less than the others', 'x'];
const noSignal = { signal: new AbortController().signal, progress: () => undefined };

function spec(model: string, config: Record<string, unknown> = {}): LoadSpec {
  return { modelId: model, taskType: 'txt2embed', folder: path.join(MODELS, model), config, spin: false };
}

async function reference(load: LoadSpec): Promise<Float32Array[]> {
  const config = parseTxt2EmbedConfig(load.config);
  const encoder = await loadPipelineEncoder(load, config);
  try {
    const { hidden, mask } = await encoder.encode(TEXTS, config.maxLength);
    return pool(hidden, mask, config.pooling).map((v) => l2Normalize(v));
  } finally {
    await encoder.dispose();
  }
}

async function embed(load: LoadSpec): Promise<Float32Array[]> {
  const handler = await loadTxt2Embed(load);
  try {
    const outputs = await handler.run({ items: TEXTS.map((text) => ({ kind: 'text' as const, text })), parameters: {} }, noSignal);
    return outputs.map((o) => (o.kind === 'embedding' ? Float32Array.from(o.embedding) : new Float32Array()));
  } finally {
    await handler.dispose();
  }
}

for (const [model, config] of [
  ['glove-2k', {}],
  ['glove-2k', { max_length: 4, pooling: 'cls' }],
  // A decoder graph (position ids, a key/value cache): the transformers.js fallback feeds it.
  ['plumbing-gpt2-tiny', {}],
] as const) {
  test(`${model} ${JSON.stringify(config)}: the same vectors as the transformers.js pipeline`, async () => {
    const load = spec(model, config);
    const ours = await embed(load);
    assert.equal(ours.length, TEXTS.length);
    assert.deepEqual(ours, await reference(load));
  });
}
