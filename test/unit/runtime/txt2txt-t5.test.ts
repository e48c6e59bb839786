import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer } from '@huggingface/transformers';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { buildT5 } from '../../../scripts/build-plumbing-models.js';
import { ModelMoraError } from '../../../src/domain/errors.js';
import type { InferenceItem } from '../../../src/domain/inference.js';
import type { RunnerProgress } from '../../../src/domain/runner.js';
import { loadTaskHandler, type TaskHandler } from '../../../src/runtime/tasks/index.js';

/**
 * The encoder-decoder (t5) path of txt2txt, in process, through the runner's own loader
 * (`loadTaskHandler`) on the plumbing-t5-tiny fixture: seeded random weights that emit only
 * fixture words, never </s>, so every run goes to max_tokens. It proves the plumbing
 * (encoder, decoder cache, sampling, stop sequences, streaming, batches), not language.
 */

const FOLDER = fileURLToPath(new URL('../../../../test/fixtures/models/plumbing-t5-tiny', import.meta.url));
const WORDS = /^[a-z]+$|^[.,]$/;

interface Run {
  texts: string[];
  events: RunnerProgress[];
  /** Per event: whether run() had already resolved when the event came. */
  afterDone: boolean[];
}

describe('txt2txt encoder-decoder (t5) on plumbing-t5-tiny', () => {
  let handler: TaskHandler;

  before(async () => {
    handler = await loadTaskHandler({ modelId: 'plumbing/t5-tiny', taskType: 'txt2txt', folder: FOLDER, config: {}, threads: 1 });
  });

  after(async () => {
    await handler?.dispose();
  });

  const run = async (prompts: string[], parameters: Record<string, unknown>, signal = new AbortController().signal): Promise<Run> => {
    const events: RunnerProgress[] = [];
    const afterDone: boolean[] = [];
    let done = false;
    const items: InferenceItem[] = prompts.map((text) => ({ kind: 'text', text }));
    const outputs = await handler
      .run({ items, parameters }, {
        signal,
        progress: (event) => {
          events.push(event);
          afterDone.push(done);
        },
      })
      .finally(() => {
        done = true;
      });
    return { texts: outputs.map((o) => (o.kind === 'text' ? o.text : assert.fail(`not text: ${o.kind}`))), events, afterDone };
  };
  const tokensOf = (r: Run, item = 0) => r.events.filter((e) => e.item === item && e.token !== undefined).map((e) => e.token!);

  test('greedy generation: exactly max_tokens fixture words, the same text every time, and not the prompt', async () => {
    const a = await run(['Once upon a time'], { max_tokens: 12 });
    const b = await run(['Once upon a time'], { max_tokens: 12 });
    const text = a.texts[0]!;
    assert.equal(b.texts[0], text, 'greedy decoding is deterministic without a seed');
    const words = text.trim().split(/\s+/).flatMap((w) => w.split(/(?=[.,])|(?<=[.,])/));
    assert.ok(words.every((w) => WORDS.test(w)), `only fixture words: ${text}`);
    // Every generated token is one fixture word or mark, so 12 tokens -> 12 pieces of text.
    assert.equal(tokensOf(a).length, 12, 'one streamed piece per generated token');
    assert.equal(a.events.filter((e) => e.token !== undefined || e.progress !== undefined).at(-1)!.progress, 100);
    assert.ok(!text.toLowerCase().includes('once upon'), `the answer is the generated text only: ${text}`);

    const short = await run(['Once upon a time'], { max_tokens: 3 });
    assert.equal(tokensOf(short).length, 3);
    assert.ok(text.startsWith(short.texts[0]!), `greedy: a shorter run is a prefix (${short.texts[0]} / ${text})`);
  });

  test('sampling: the same seed gives the same text, another seed another text', async () => {
    const params = (seed: number) => ({ max_tokens: 16, temperature: 0.9, seed });
    const a = (await run(['hello world'], params(7))).texts[0]!;
    const b = (await run(['hello world'], params(7))).texts[0]!;
    const other = (await run(['hello world'], params(8))).texts[0]!;
    assert.equal(a, b);
    assert.notEqual(a, other);
    assert.ok(new Set(a.trim().split(/\s+/)).size >= 4, `a varied sequence: ${a}`);
    const greedy = (await run(['hello world'], { max_tokens: 16 })).texts[0]!;
    assert.notEqual(a, greedy, 'temperature > 0 samples rather than taking the argmax');
  });

  test('tokens stream as they are produced and concatenate to the returned text', async () => {
    const r = await run(['the river runs under the stone'], { max_tokens: 10, temperature: 0.9, seed: 3 });
    const tokens = tokensOf(r);
    assert.equal(tokens.length, 10);
    assert.equal(tokens.join(''), r.texts[0]);
    assert.ok(r.afterDone.every((late) => !late), 'every piece came while the run was still going');
    const progress = r.events.map((e) => e.progress!);
    assert.deepEqual(progress, [...progress].sort((x, y) => x - y), 'progress never goes back');
  });

  test('a stop sequence cuts the text before it and nothing past it is streamed', async () => {
    const params = { max_tokens: 16, temperature: 0.9, seed: 7 };
    const full = (await run(['hello world'], params)).texts[0]!;
    const stopWord = ` ${full.trim().split(/\s+/)[3]!}`;
    const expected = full.slice(0, full.indexOf(stopWord));
    const cut = await run(['hello world'], { ...params, stop: [stopWord] });
    assert.equal(cut.texts[0], expected);
    assert.equal(tokensOf(cut).join(''), expected);
    assert.ok(tokensOf(cut).length < 16, 'generation stopped early');
  });

  test('a batch of prompts answers each in order, each as it would alone', async () => {
    const prompts = ['Once upon a time', 'hello world', 'the red cat sees a blue dog', 'model serving'];
    const batch = await run(prompts, { max_tokens: 8, temperature: 0.9, seed: 11 });
    assert.equal(batch.texts.length, prompts.length);
    assert.equal(new Set(batch.texts).size, prompts.length, `different prompts, different texts: ${batch.texts.join(' | ')}`);
    for (const [i, prompt] of prompts.entries()) {
      const alone = await run([prompt], { max_tokens: 8, temperature: 0.9, seed: 11 });
      assert.equal(batch.texts[i], alone.texts[0], `item ${i}`);
      assert.equal(tokensOf(batch, i).join(''), batch.texts[i], `item ${i} streamed its own tokens`);
    }
    const order = batch.events.map((e) => e.item);
    assert.deepEqual(order, [...order].sort((x, y) => x - y), 'items are generated one after another, in order');
  });

  test('cancelling mid-generation ends the run with CANCELLED; a non-text item fails with INVALID_INPUT', async () => {
    const controller = new AbortController();
    let pieces = 0;
    await assert.rejects(
      handler.run({ items: [{ kind: 'text', text: 'hello' }], parameters: { max_tokens: 200 } }, {
        signal: controller.signal,
        progress: (event) => {
          if (event.token !== undefined && ++pieces === 2) controller.abort();
        },
      }),
      (err: unknown) => err instanceof ModelMoraError && err.code === 'CANCELLED',
    );
    assert.ok(pieces < 200, `generation stopped after the abort (${pieces} pieces)`);
    await assert.rejects(
      handler.run({ items: [{ kind: 'image', image: new Uint8Array([1, 2, 3]) }], parameters: {} }, { signal: new AbortController().signal, progress: () => {} }),
      (err: unknown) => err instanceof ModelMoraError && err.code === 'INVALID_INPUT',
    );
  });
});

describe('the plumbing-t5-tiny fixture itself', () => {
  test('the committed folder is exactly what scripts/build-plumbing-models.ts builds', () => {
    const built = buildT5();
    const committed = readdirSync(FOLDER, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(FOLDER, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .sort();
    assert.deepEqual(committed, [...built.keys()]);
    for (const [name, bytes] of built) assert.ok(readFileSync(path.join(FOLDER, name)).equals(bytes), `${name} differs: rebuild the fixtures`);
    const size = [...built.values()].reduce((n, b) => n + b.length, 0);
    assert.ok(size < 512 * 1024, `small: ${size} bytes`);
  });

  test('its decoder cache is real: greedy decoding without a cache, on onnxruntime directly, gives the text transformers.js produced', async () => {
    const prompt = 'the red cat sees a blue dog';
    const steps = 8;
    const handler = await loadTaskHandler({ modelId: 'plumbing/t5-tiny', taskType: 'txt2txt', folder: FOLDER, config: {}, threads: 1 });
    let expected: string;
    try {
      const [out] = await handler.run({ items: [{ kind: 'text', text: prompt }], parameters: { max_tokens: steps } }, { signal: new AbortController().signal, progress: () => {} });
      expected = out!.kind === 'text' ? out!.text : assert.fail('not text');
    } finally {
      await handler.dispose();
    }

    const tokenizer = await AutoTokenizer.from_pretrained(FOLDER, { local_files_only: true });
    const ids = (tokenizer.encode(prompt) as number[]).map(BigInt);
    assert.equal(ids.at(-1), 1n, 'the tokenizer appends </s> (id 1), as t5 does');
    const encoder = await InferenceSession.create(path.join(FOLDER, 'onnx/encoder_model.onnx'));
    const decoder = await InferenceSession.create(path.join(FOLDER, 'onnx/decoder_model_merged.onnx'));
    try {
      const mask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
      const { last_hidden_state: states } = await encoder.run({ input_ids: new Tensor('int64', BigInt64Array.from(ids), [1, ids.length]), attention_mask: mask });
      const empty = () => new Tensor('float32', new Float32Array(0), [1, 1, 0, 32]);
      const generated: bigint[] = [0n]; // decoder_start_token_id = <pad>
      for (let step = 0; step < steps; step++) {
        // The whole sequence every step with an empty cache: what the cached run must match.
        const out = await decoder.run({
          input_ids: new Tensor('int64', BigInt64Array.from(generated), [1, generated.length]),
          encoder_attention_mask: mask,
          encoder_hidden_states: states!,
          'past_key_values.0.decoder.key': empty(),
          'past_key_values.0.decoder.value': empty(),
          'past_key_values.0.encoder.key': empty(),
          'past_key_values.0.encoder.value': empty(),
        });
        const logits = out['logits']!;
        const V = logits.dims[2]!;
        const last = (logits.data as Float32Array).subarray((generated.length - 1) * V, generated.length * V);
        generated.push(BigInt(last.indexOf(Math.max(...last))));
      }
      assert.equal(tokenizer.decode(generated.slice(1), { skip_special_tokens: true }), expected);
    } finally {
      await encoder.release();
      await decoder.release();
    }
  });
});
