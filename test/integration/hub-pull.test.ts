import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileDownloadInfo } from '@huggingface/hub';
import { ModelMoraError } from '../../src/domain/errors.js';
import { ModelRef } from '../../src/domain/model-ref.js';
import { createSource } from '../../src/hub/source.js';
import { ModelStore, type PullEvent } from '../../src/store/model-store.js';
import { collect, removeDir, tempDir, writeModelFolder } from '../support/fixtures.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';

const ref = ModelRef.parse('org/tiny');
const MODEL = 'onnx/model.onnx';
let dir: string;
let hub: TestHub;
let folder: string;

before(async () => {
  dir = await tempDir();
  folder = path.join(dir, 'fixture');
  await writeModelFolder(folder, {
    'config.json': JSON.stringify({ model_type: 'bert', hidden_size: 8 }),
    'tokenizer_config.json': '{"model_max_length":128}',
    [MODEL]: 400_000,
    'weights.bin': 200_000,
  });
  hub = await startTestHub({ repos: { 'org/tiny': { folder } }, pageSize: 3 });
});
after(async () => {
  await hub.close();
  await removeDir(dir);
});

let homes = 0;
async function freshStore(): Promise<ModelStore> {
  return new ModelStore(path.join(dir, `home-${homes++}`));
}
function hubSource(store: ModelStore) {
  return createSource(ref, { hubUrl: hub.url, baseDir: dir, spoolDir: store.spoolDir });
}
async function sha256Of(file: string): Promise<string> {
  return createHash('sha256').update(await fs.readFile(file)).digest('hex');
}
async function expectCode(promise: Promise<unknown>, code: string): Promise<ModelMoraError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ModelMoraError, String(err));
  assert.equal(err.code, code, err.message);
  return err;
}

test('resolve lists the commit and every file with the size and sha256 the hub served; pull lays out the HF cache', async () => {
  const store = await freshStore();
  const source = hubSource(store);
  assert.equal(source.location, `${hub.url}/org/tiny`);
  const snapshot = await source.resolve('main');
  assert.equal(snapshot.commit, hub.commitOf('org/tiny'));
  assert.deepEqual(snapshot.files.map((f) => f.path), ['config.json', MODEL, 'tokenizer_config.json', 'weights.bin']);
  for (const f of snapshot.files) {
    const bytes = await fs.readFile(path.join(folder, f.path));
    assert.equal(f.size, bytes.length);
    assert.equal(f.sha256, createHash('sha256').update(bytes).digest('hex'));
  }
  // The tree listing was paged (pageSize 3) and followed through its Link header.
  assert.ok(hub.requests.filter((r) => r.url.includes('/tree/')).length >= 2);

  const events = await collect(store.pull(ref, source, snapshot, { revision: 'main' }));
  const folderOut = store.snapshotFolder(ref, snapshot.commit);
  assert.deepEqual(events.at(-1), { type: 'done', folder: folderOut });
  const start = events[0] as Extract<PullEvent, { type: 'start' }>;
  assert.equal(start.totalBytes, snapshot.files.reduce((n, f) => n + f.size, 0));
  const last = events.filter((e) => e.type === 'progress').at(-1) as Extract<PullEvent, { type: 'progress' }>;
  assert.equal(last.doneBytes, start.totalBytes);
  for (const f of snapshot.files) {
    const link = path.join(folderOut, f.path);
    const target = await fs.readlink(link);
    assert.ok(!path.isAbsolute(target) && target.endsWith(`blobs/${f.sha256}`), target);
    assert.equal(await sha256Of(link), f.sha256);
  }
  assert.equal(await store.readRef(ref, 'main'), snapshot.commit);
  assert.equal(await store.isComplete(ref, snapshot), true);
  // Small (non-LFS) files were fetched once, during resolve, and not again by the pull.
  assert.equal(hub.fileRequests('config.json').length, 1);
  assert.equal(hub.fileRequests(MODEL).length, 1);

  // A second pull finds everything cached and asks the hub for nothing.
  const before = hub.requests.length;
  const again = await collect(store.pull(ref, source, snapshot));
  assert.ok(again.filter((e) => e.type === 'file').every((e) => e.type === 'file' && e.cached));
  assert.equal(hub.requests.length, before);
});

test('a connection dropped mid-file leaves .incomplete; the rerun resumes it with Range', async () => {
  const store = await freshStore();
  const source = hubSource(store);
  const snapshot = await source.resolve('main');
  const size = snapshot.files.find((f) => f.path === MODEL)!.size;
  hub.misbehave({ kind: 'drop', path: MODEL, afterBytes: 64 * 1024 * 3 });
  await expectCode(collect(store.pull(ref, source, snapshot, { retries: 0 })), 'DOWNLOAD_FAILED');
  const sha = snapshot.files.find((f) => f.path === MODEL)!.sha256;
  const blob = path.join(store.cacheDir, ref.cacheFolder, 'blobs', sha);
  await assert.rejects(fs.stat(blob), 'no file under the final name');
  assert.ok((await fs.stat(`${blob}.incomplete`)).size > 0);

  await collect(store.pull(ref, source, snapshot, { retries: 0 }));
  assert.equal(await sha256Of(blob), sha);
  const served = hub.fileRequests(MODEL).slice(-2);
  assert.equal(served[1]!.range, `bytes=${64 * 1024 * 3}-`);
  const sent = served.reduce((n, r) => n + r.bytesSent, 0);
  assert.ok(sent < 1.5 * size, `sent ${sent} for a ${size}-byte file`);
  await assert.rejects(fs.stat(`${blob}.incomplete`));
});

test('with retries on, one pull survives a drop and a 500 by resuming', async () => {
  const store = await freshStore();
  const source = hubSource(store);
  const snapshot = await source.resolve('main');
  hub.misbehave({ kind: 'drop', path: 'weights.bin', afterBytes: 65536 });
  hub.misbehave({ kind: 'error-500', path: 'weights.bin' });
  const events = await collect(store.pull(ref, source, snapshot, { retryDelayMs: 1 }));
  assert.deepEqual(events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.attempt), [1, 2]);
  const served = hub.fileRequests('weights.bin').slice(-3);
  // The 500 comes first (checked before the body starts), then the drop, then the resume.
  assert.deepEqual(served.map((r) => r.status), [500, 200, 206]);
  assert.equal(served[2]!.range, 'bytes=65536-');
  assert.equal(await store.isComplete(ref, snapshot), true);
});

test('a server that ignores Range makes the download start over from zero, and the file is right', async () => {
  const store = await freshStore();
  const source = hubSource(store);
  const snapshot = await source.resolve('main');
  const file = snapshot.files.find((f) => f.path === MODEL)!;
  hub.misbehave({ kind: 'drop', path: MODEL, afterBytes: 65536 * 2 });
  await expectCode(collect(store.pull(ref, source, snapshot, { retries: 0 })), 'DOWNLOAD_FAILED');
  hub.misbehave({ kind: 'ignore-range', path: MODEL });
  await collect(store.pull(ref, source, snapshot, { retries: 0 }));
  const last = hub.fileRequests(MODEL).at(-1)!;
  assert.equal(last.range, 'bytes=131072-');
  assert.equal(last.status, 200);
  assert.equal(await sha256Of(path.join(store.snapshotFolder(ref, snapshot.commit), MODEL)), file.sha256);
});

test('a flipped byte fails with CHECKSUM_MISMATCH and leaves nothing under the final name', async () => {
  const store = await freshStore();
  const source = hubSource(store);
  const snapshot = await source.resolve('main');
  const file = snapshot.files.find((f) => f.path === MODEL)!;
  hub.misbehave({ kind: 'flip-byte', path: MODEL, byteIndex: 1234 });
  await expectCode(collect(store.pull(ref, source, snapshot, { concurrency: 1 })), 'CHECKSUM_MISMATCH');
  const blob = path.join(store.cacheDir, ref.cacheFolder, 'blobs', file.sha256);
  await assert.rejects(fs.stat(blob));
  await assert.rejects(fs.stat(`${blob}.incomplete`));
  await assert.rejects(fs.lstat(path.join(store.snapshotFolder(ref, snapshot.commit), MODEL)));
});

test('verify finds a flipped byte in a cached blob and quarantines it; a pull then repairs it', async () => {
  const store = await freshStore();
  const source = hubSource(store);
  const snapshot = await source.resolve('main');
  await collect(store.pull(ref, source, snapshot));
  const file = snapshot.files.find((f) => f.path === 'weights.bin')!;
  const blob = path.join(store.cacheDir, ref.cacheFolder, 'blobs', file.sha256);
  const fh = await fs.open(blob, 'r+');
  const one = Buffer.alloc(1);
  await fh.read(one, 0, 1, 500);
  one[0] = one[0]! ^ 1;
  await fh.write(one, 0, 1, 500);
  await fh.close();

  const report = await store.verify(ref, snapshot);
  assert.deepEqual(report.bad, [{ path: 'weights.bin', reason: 'sha256 mismatch' }]);
  assert.deepEqual(report.ok, ['config.json', MODEL, 'tokenizer_config.json']);
  await assert.rejects(fs.stat(blob));
  const quarantined = await fs.readdir(path.join(store.quarantineDir, ref.cacheFolder));
  assert.equal(quarantined.length, 1);
  assert.ok(quarantined[0]!.startsWith(file.sha256));
  assert.equal(await store.isComplete(ref, snapshot), false);

  await collect(store.pull(ref, source, snapshot));
  assert.deepEqual((await store.verify(ref, snapshot)).bad, []);
});

test('two concurrent pulls of one model download each blob once and both succeed', async () => {
  const store = await freshStore();
  const snapshot = await hubSource(store).resolve('main');
  const before = hub.fileRequests(MODEL).length;
  const [a, b] = await Promise.all([
    collect(store.pull(ref, hubSource(store), snapshot)),
    collect(store.pull(ref, hubSource(new ModelStore(store.home)), snapshot)),
  ]);
  assert.equal(a.at(-1)?.type, 'done');
  assert.equal(b.at(-1)?.type, 'done');
  assert.equal(hub.fileRequests(MODEL).length - before, 1);
  assert.equal(await store.isComplete(ref, snapshot), true);
});

test('LFS files behind a CDN redirect, and a one-off redirect, are followed', async () => {
  const redirected = ModelRef.parse('org/cdn');
  await hub.setRepo('org/cdn', { folder, lfsRedirect: true });
  const store = await freshStore();
  const source = createSource(redirected, { hubUrl: hub.url, baseDir: dir });
  const snapshot = await source.resolve('main');
  hub.misbehave({ kind: 'redirect', path: 'config.json' });
  await collect(store.pull(redirected, source, snapshot));
  assert.equal(await store.isComplete(redirected, snapshot), true);
  assert.ok(hub.requests.some((r) => r.url === `/cdn/${snapshot.files.find((f) => f.path === MODEL)!.sha256}`));
});

test('the token goes to the hub only, and @huggingface/hub fileDownloadInfo reads the test hub', async () => {
  const store = await freshStore();
  const source = createSource(ref, { hubUrl: hub.url, baseDir: dir, token: 'mirror-token-1' });
  await source.resolve('main');
  const mine = hub.requests.filter((r) => r.authorization !== undefined);
  assert.ok(mine.length > 0 && mine.every((r) => r.authorization === 'Bearer mirror-token-1'));
  const info = await fileDownloadInfo({ repo: 'org/tiny', path: MODEL, hubUrl: hub.url });
  assert.equal(info?.size, 400_000);
  assert.equal(info?.etag, `"${(await source.resolve('main')).files.find((f) => f.path === MODEL)!.sha256}"`);
  void store;
});

test('unknown models and revisions are MODEL_NOT_FOUND', async () => {
  const store = await freshStore();
  await expectCode(createSource(ModelRef.parse('org/missing'), { hubUrl: hub.url, baseDir: dir }).resolve('main'), 'MODEL_NOT_FOUND');
  await expectCode(hubSource(store).resolve('v9'), 'MODEL_NOT_FOUND');
});

test('glob patterns filter the listing', async () => {
  const store = await freshStore();
  const snapshot = await hubSource(store).resolve('main', ['*.json']);
  assert.deepEqual(snapshot.files.map((f) => f.path), ['config.json', 'tokenizer_config.json']);
  const onnx = await hubSource(store).resolve('main', ['onnx/']);
  assert.deepEqual(onnx.files.map((f) => f.path), [MODEL]);
});

test('a new commit on main gives a new snapshot next to the old one', async () => {
  const changed = path.join(dir, 'fixture-v2');
  await fs.cp(folder, changed, { recursive: true });
  await fs.writeFile(path.join(changed, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: 16 }));
  const moving = ModelRef.parse('org/moving');
  const first = await hub.setRepo('org/moving', { folder });
  const store = await freshStore();
  const source = createSource(moving, { hubUrl: hub.url, baseDir: dir });
  const s1 = await source.resolve('main');
  await collect(store.pull(moving, source, s1, { revision: 'main' }));
  const second = await hub.setRepo('org/moving', { folder: changed });
  assert.notEqual(first, second);
  const s2 = await source.resolve('main');
  assert.equal(s2.commit, second);
  const events = await collect(store.pull(moving, source, s2, { revision: 'main' }));
  // Only the changed file is new; the blobs of the others are shared.
  assert.deepEqual(events.filter((e) => e.type === 'file' && !e.cached).map((e) => e.type === 'file' && e.path), ['config.json']);
  assert.equal(await store.readRef(moving, 'main'), second);
  assert.equal(await store.isComplete(moving, s1), true);
});

test('bytes hashed by `lock` are reused by a later `pull` (a new source over the same spool folder)', async () => {
  const store = await freshStore();
  const snapshot = await hubSource(store).resolve('main');
  const before = hub.fileRequests('config.json').length;
  await collect(store.pull(ref, hubSource(store), snapshot));
  assert.equal(hub.fileRequests('config.json').length, before);
  assert.deepEqual(await fs.readdir(store.spoolDir), []);
});
