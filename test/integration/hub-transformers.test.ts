import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { AutoConfig, AutoTokenizer, env } from '@huggingface/transformers';
import { ModelRef } from '../../src/domain/model-ref.js';
import { createSource } from '../../src/hub/source.js';
import { ModelStore } from '../../src/store/model-store.js';
import { collect, removeDir, tempDir, writeModelFolder } from '../support/fixtures.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';

/** The cache is only useful if transformers.js can load a snapshot through its symlinks. */

const TOKENIZER = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [{ id: 0, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
  normalizer: { type: 'Lowercase' },
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: null,
  decoder: null,
  model: { type: 'WordLevel', vocab: { '[UNK]': 0, hello: 1, world: 2, stock: 3, markets: 4 }, unk_token: '[UNK]' },
};

let dir: string;
let hub: TestHub;
before(async () => {
  dir = await tempDir();
  await writeModelFolder(path.join(dir, 'fixture'), {
    'config.json': JSON.stringify({ model_type: 'bert', hidden_size: 8 }),
    'tokenizer.json': JSON.stringify(TOKENIZER),
    'tokenizer_config.json': JSON.stringify({ tokenizer_class: 'PreTrainedTokenizer' }),
    'onnx/model.onnx': 100_000,
  });
  // tokenizer.json as an LFS file too, so both kinds of link are exercised.
  hub = await startTestHub({ repos: { 'org/tok': { folder: path.join(dir, 'fixture'), lfs: (p, size) => p === 'tokenizer.json' || size > 64 * 1024 } } });
});
after(async () => {
  await hub.close();
  await removeDir(dir);
});

test('transformers.js loads config and tokenizer from a pulled snapshot through its relative symlinks', async () => {
  const ref = ModelRef.parse('org/tok');
  const store = new ModelStore(path.join(dir, 'home'));
  const source = createSource(ref, { hubUrl: hub.url, baseDir: dir });
  const snapshot = await source.resolve('main');
  await collect(store.pull(ref, source, snapshot));
  const folder = store.snapshotFolder(ref, snapshot.commit);
  assert.equal((await fs.lstat(path.join(folder, 'tokenizer.json'))).isSymbolicLink(), true);
  assert.equal((await fs.lstat(path.join(folder, 'onnx', 'model.onnx'))).isSymbolicLink(), true);

  env.allowRemoteModels = false;
  env.localModelPath = '';
  const tokenizer = await AutoTokenizer.from_pretrained(folder);
  assert.deepEqual(tokenizer.encode('Hello world stock markets'), [1, 2, 3, 4]);
  const config = await AutoConfig.from_pretrained(folder);
  assert.equal((config as unknown as { model_type: string }).model_type, 'bert');
});
