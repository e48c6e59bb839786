import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEMO_MODEL, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { call, cosine, maxAbsDiff, norm, type Vector } from '../support/daemon-http.js';

// The demo model (models/glove-demo) served by a real daemon over REST: what an application sees.

const MODEL = 'modelmora/glove-demo';
let daemon: DaemonProcess;

interface Embedded {
  model_id: string;
  output_data: { embedding?: Vector; embeddings?: Vector[] };
  metadata: { inference_time_ms: number; total_time_ms: number; batch_size: number; device: string };
}

async function embed(text: string | string[], parameters?: Record<string, unknown>): Promise<Embedded> {
  const reply = await call<Embedded>(daemon.api, 'POST', `/infer/${encodeURIComponent(MODEL)}`, {
    input_data: { text },
    ...(parameters && { parameters }),
  });
  assert.equal(reply.status, 200, reply.text);
  return reply.body;
}

before(async () => {
  // normalize: false in the model's config, so the request parameter is what turns it on.
  daemon = await startDaemon({ models: [{ id: MODEL, task: 'txt2embed', source: DEMO_MODEL, config: { pooling: 'mean', normalize: false } }], args: ['--max-inputs', '64'] });
});

after(async () => {
  await daemon?.stop();
});

test('one text answers output_data.embedding of 100 numbers and the document metadata', async () => {
  const out = await embed('stock markets fell sharply');
  assert.equal(out.model_id, MODEL);
  assert.equal(out.output_data.embeddings, undefined);
  const v = out.output_data.embedding!;
  assert.equal(v.length, 100);
  assert.ok(v.every((x) => typeof x === 'number' && Number.isFinite(x)));
  assert.ok(Math.abs(norm(v) - 1) > 1e-3, 'not normalised unless asked (config normalize: false)');
  assert.equal(out.metadata.batch_size >= 1, true);
  assert.equal(out.metadata.device, 'cpu');
  assert.ok(out.metadata.inference_time_ms > 0);
  assert.ok(out.metadata.total_time_ms >= out.metadata.inference_time_ms);
});

test('normalize: true gives unit vectors; similar sentences are closer than unrelated ones', async () => {
  const texts = ['stock markets fell sharply', 'shares dropped steeply', 'a kitten sleeps on the sofa'];
  const out = await embed(texts, { normalize: true });
  const [markets, shares, kitten] = out.output_data.embeddings!;
  for (const v of [markets!, shares!, kitten!]) {
    assert.equal(v.length, 100);
    assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
  }
  const close = cosine(markets!, shares!);
  assert.ok(close > cosine(markets!, kitten!), 'markets~shares above markets~kitten');
  assert.ok(close > cosine(shares!, kitten!), 'markets~shares above shares~kitten');
  assert.ok(close > 0.7, `markets~shares ${close}`);
  assert.ok(cosine(markets!, kitten!) < 0.5, `markets~kitten ${cosine(markets!, kitten!)}`);
});

test('a batch of 64 texts equals 64 single calls, in input order', async () => {
  const words = ['markets', 'kitten', 'rain', 'music', 'bank', 'river', 'stock', 'sofa'];
  const texts = Array.from({ length: 64 }, (_, i) => `${words[i % 8]} ${words[(i * 3 + 1) % 8]} number ${i} ${'very '.repeat(i % 5)}long`);
  const batch = (await embed(texts, { normalize: true })).output_data.embeddings!;
  assert.equal(batch.length, 64);
  // One at a time, so each really runs alone on the runner (concurrent ones would be batched).
  const singles: Vector[] = [];
  for (const t of texts) {
    const single = await embed(t, { normalize: true });
    assert.equal(single.metadata.batch_size, 1);
    singles.push(single.output_data.embedding!);
  }
  let worst = 0;
  for (let i = 0; i < 64; i++) worst = Math.max(worst, maxAbsDiff(batch[i]!, singles[i]!));
  assert.ok(worst < 1e-5, `max abs difference ${worst}`);
  // Input order, not just the same set: neighbours differ.
  assert.ok(maxAbsDiff(batch[0]!, batch[1]!) > 1e-3);
});

test('a text of only unknown words is a zero vector, not NaN, even with normalize', async () => {
  const out = await embed(['qqxzv zzkrw', 'markets'], { normalize: true });
  // JSON has no NaN: a NaN would arrive as null.
  const [unknown, known] = out.output_data.embeddings!;
  assert.equal(unknown!.length, 100);
  assert.ok(unknown!.every((x) => x === 0), JSON.stringify(unknown!.slice(0, 5)));
  assert.ok(Math.abs(norm(known!) - 1) < 1e-5);
  const single = await embed('qqxzv', { normalize: true });
  assert.ok(single.output_data.embedding!.every((x) => x === 0));
});
