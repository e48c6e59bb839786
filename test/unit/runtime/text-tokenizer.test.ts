import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, env, type Tensor } from '@huggingface/transformers';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { TextTokenizer } from '../../../src/runtime/tasks/text-tokenizer.js';

// The direct txt2embed path must feed the graph exactly what transformers.js' tokenizer call did.
const MODELS = fileURLToPath(new URL('../../../../test/fixtures/models/', import.meta.url));
const TEXTS = ['hello world', 'The quick brown fox jumps over the lazy dog, twice.', '', 'Ünïcödé café — 東京 🙂', 'a '.repeat(300)];
const temp = mkdtempSync(path.join(tmpdir(), 'mm-tokenizer-'));
after(() => rmSync(temp, { recursive: true, force: true }));
env.allowRemoteModels = false;

async function reference(folder: string, texts: string[], maxLength?: number) {
  const tokenizer = await AutoTokenizer.from_pretrained(folder, { local_files_only: true });
  const out = tokenizer(texts, { padding: true, truncation: true, max_length: maxLength ?? null }) as { input_ids: Tensor; attention_mask: Tensor };
  return { inputIds: out.input_ids.data, attentionMask: out.attention_mask.data, dims: out.input_ids.dims };
}

for (const model of ['glove-2k', 'plumbing-gpt2-tiny']) {
  for (const maxLength of [undefined, 6]) {
    test(`${model}, max_length ${maxLength ?? 'default'}: same ids, mask and shape as transformers.js`, async () => {
      const folder = path.join(MODELS, model);
      const ours = (await TextTokenizer.load(folder)).encode(TEXTS, maxLength);
      assert.deepEqual(ours, await reference(folder, TEXTS, maxLength));
    });
  }
}

test('padding_side left in tokenizer_config.json pads before the text, as transformers.js does', async () => {
  const folder = path.join(temp, 'left');
  const source = path.join(MODELS, 'glove-2k');
  mkdirSync(folder);
  copyFileSync(path.join(source, 'tokenizer.json'), path.join(folder, 'tokenizer.json'));
  const config = JSON.parse(readFileSync(path.join(source, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(folder, 'tokenizer_config.json'), JSON.stringify({ ...config, padding_side: 'left' }));
  const ours = (await TextTokenizer.load(folder)).encode(['hi', 'a longer text here']);
  assert.deepEqual(ours, await reference(folder, ['hi', 'a longer text here']));
  assert.equal(ours.attentionMask[0], 0n);
});

test('a folder without tokenizer.json fails the load with MODEL_LOAD_FAILED', async () => {
  await assert.rejects(TextTokenizer.load(temp), (err: unknown) => err instanceof ModelMoraError && err.code === 'MODEL_LOAD_FAILED');
});
