import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { ModelRef } from '../../../src/domain/model-ref.js';
import { contentCommit } from '../../../src/hub/content-commit.js';
import { createSource } from '../../../src/hub/source.js';
import { ModelStore } from '../../../src/store/model-store.js';
import { collect, removeDir, tempDir, writeModelFolder } from '../../support/fixtures.js';

let dir: string;
const ref = ModelRef.parse('local/model');

before(async () => {
  dir = await tempDir();
  await writeModelFolder(path.join(dir, 'project', 'models', 'm'), {
    'config.json': '{"model_type":"bert"}',
    'onnx/model.onnx': 50_000,
    '.git/HEAD': 'ref: refs/heads/main',
    '.DS_Store': 'junk',
  });
  await writeModelFolder(path.join(dir, 'secret'), { 'id_rsa': 'PRIVATE' });
});
after(() => removeDir(dir));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

test('a local folder (relative to the yaml folder) round-trips through the store', async () => {
  const baseDir = path.join(dir, 'project');
  const source = createSource(ref, { source: './models/m', hubUrl: 'https://hub.invalid', baseDir });
  assert.equal(source.kind, 'local');
  assert.equal(source.location, './models/m');
  const snapshot = await source.resolve('main');
  const weights = await fs.readFile(path.join(baseDir, 'models', 'm', 'onnx', 'model.onnx'));
  assert.deepEqual(snapshot.files, [
    { path: 'config.json', size: 21, sha256: sha('{"model_type":"bert"}') },
    { path: 'onnx/model.onnx', size: 50_000, sha256: sha(weights) },
  ]);
  assert.equal(snapshot.commit, contentCommit(snapshot.files));
  assert.match(snapshot.commit, /^[0-9a-f]{40}$/);
  // Same bytes, same commit: the lock stays stable across machines.
  assert.equal((await source.resolve('other-rev')).commit, snapshot.commit);

  const store = new ModelStore(path.join(dir, 'home'));
  const events = await collect(store.pull(ref, source, snapshot));
  assert.equal(events.at(-1)?.type, 'done');
  const copy = await fs.readFile(path.join(store.snapshotFolder(ref, snapshot.commit), 'onnx', 'model.onnx'));
  assert.ok(copy.equals(weights));
  assert.deepEqual((await store.verify(ref, snapshot)).bad, []);
});

test('an absolute folder works and a changed file gives a new commit', async () => {
  const folder = path.join(dir, 'abs');
  await writeModelFolder(folder, { 'a.bin': 'one' });
  const source = createSource(ref, { source: folder, hubUrl: 'https://hub.invalid', baseDir: '/nowhere' });
  const first = await source.resolve('main');
  await fs.writeFile(path.join(folder, 'a.bin'), 'two');
  const second = await source.resolve('main');
  assert.notEqual(first.commit, second.commit);
  // Pulling the old snapshot now fails the hash check instead of caching the wrong bytes.
  const store = new ModelStore(path.join(dir, 'home-abs'));
  await assert.rejects(collect(store.pull(ref, source, first)), (e: unknown) => e instanceof ModelMoraError && e.code === 'CHECKSUM_MISMATCH');
});

test('symlinks inside the folder are followed; one leading outside is refused', async () => {
  const folder = path.join(dir, 'linked');
  await writeModelFolder(folder, { 'real/model.bin': 'weights' });
  await fs.symlink('real/model.bin', path.join(folder, 'alias.bin'));
  const source = createSource(ref, { source: folder, hubUrl: 'https://hub.invalid', baseDir: dir });
  assert.deepEqual((await source.resolve('main')).files.map((f) => f.path), ['alias.bin', 'real/model.bin']);

  await fs.symlink(path.join(dir, 'secret', 'id_rsa'), path.join(folder, 'leak.bin'));
  const err = await source.resolve('main').then(() => assert.fail('accepted an escaping symlink'), (e: unknown) => e);
  assert.ok(err instanceof ModelMoraError && err.code === 'DOWNLOAD_FAILED');
  assert.match(err.message, /leak\.bin.*outside/);
  assert.ok(!err.message.includes(dir));
});

test('a missing folder is a clear error without the absolute path', async () => {
  const source = createSource(ref, { source: './does-not-exist', hubUrl: 'https://hub.invalid', baseDir: dir });
  const err = await source.resolve('main').then(() => assert.fail(), (e: unknown) => e);
  assert.ok(err instanceof ModelMoraError && err.code === 'DOWNLOAD_FAILED');
  assert.ok(err.message.includes("'./does-not-exist'") && !err.message.includes(dir));
});

test('an absolute folder that is missing is named without its absolute path', async () => {
  const source = createSource(ref, { source: path.join(dir, 'gone', 'model'), hubUrl: 'https://hub.invalid', baseDir: dir });
  const err = await source.resolve('main').then(() => assert.fail(), (e: unknown) => e);
  assert.ok(err instanceof ModelMoraError && err.message.includes("'.../model'") && !err.message.includes(dir), String(err));
});
