import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ModelMoraError } from '../../src/domain/errors.js';
import { ModelRef } from '../../src/domain/model-ref.js';
import { contentCommit } from '../../src/hub/content-commit.js';
import { createSource } from '../../src/hub/source.js';
import type { Resolver } from '../../src/hub/url-guard.js';
import { ModelStore } from '../../src/store/model-store.js';
import { collect, removeDir, tempDir, writeModelFolder } from '../support/fixtures.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';

/**
 * source_url end to end. The guard refuses loopback, so the test hub is reached through an
 * injected fetch: the URL says https://files.example.com (resolved by a fake DNS to a public
 * address), and the fake fetch forwards the request, headers and all, to the loopback hub.
 */

let dir: string;
let hub: TestHub;
let bytes: Buffer;
const ref = ModelRef.parse('org/url-model');
const URL_ = 'https://files.example.com/models/model.onnx';
const resolve: Resolver = async () => [{ address: '93.184.215.14', family: 4 }];
const forwarded: { url: string; range: string | null }[] = [];
const forward = (async (input: string | URL | Request, init?: RequestInit) => {
  const url = new URL(String(input instanceof Request ? input.url : input));
  const headers = new Headers(init?.headers);
  forwarded.push({ url: url.href, range: headers.get('range') });
  if (url.pathname === '/models/model.onnx') return new Response(null, { status: 302, headers: { location: '/blobs/model.onnx' } });
  return fetch(`${hub.url}/org/files/resolve/main/model.onnx`, { ...init, redirect: 'manual' });
}) as typeof fetch;

before(async () => {
  dir = await tempDir();
  await writeModelFolder(path.join(dir, 'fixture'), { 'model.onnx': 300_000 });
  bytes = await fs.readFile(path.join(dir, 'fixture', 'model.onnx'));
  hub = await startTestHub({ repos: { 'org/files': { folder: path.join(dir, 'fixture') } } });
});
after(async () => {
  await hub.close();
  await removeDir(dir);
});

test('a source_url file resolves to its size and sha256, is spooled, and pulls without a second download', async () => {
  const store = new ModelStore(path.join(dir, 'home'));
  const source = createSource(ref, { sourceUrl: URL_, hubUrl: hub.url, token: 'hf_secret', baseDir: dir, spoolDir: store.spoolDir, urlGuard: { resolve, fetch: forward } });
  assert.equal(source.kind, 'url');
  assert.equal(source.location, URL_);
  const snapshot = await source.resolve('main');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  assert.deepEqual(snapshot.files, [{ path: 'model.onnx', size: bytes.length, sha256 }]);
  assert.equal(snapshot.commit, contentCommit(snapshot.files));
  assert.deepEqual(forwarded.map((f) => f.url), [URL_, 'https://files.example.com/blobs/model.onnx']);

  await collect(store.pull(ref, source, snapshot));
  assert.equal(forwarded.length, 2, 'the pull read the spooled bytes');
  assert.equal(hub.requests.filter((r) => r.authorization).length, 0, 'the hub token never goes to a source_url');
  const out = await fs.readFile(path.join(store.snapshotFolder(ref, snapshot.commit), 'model.onnx'));
  assert.ok(out.equals(bytes));
  assert.deepEqual(await fs.readdir(store.spoolDir), [], 'the spool is emptied once used');
});

test('a frozen pull (snapshot from the lock, no resolve) downloads through the guard and resumes with Range', async () => {
  const store = new ModelStore(path.join(dir, 'home-frozen'));
  const source = createSource(ref, { sourceUrl: URL_, hubUrl: hub.url, baseDir: dir, urlGuard: { resolve, fetch: forward } });
  const files = [{ path: 'model.onnx', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }];
  const snapshot = { commit: contentCommit(files), files };
  hub.misbehave({ kind: 'drop', path: 'model.onnx', afterBytes: 65536 });
  forwarded.length = 0;
  await collect(store.pull(ref, source, snapshot, { retryDelayMs: 1 }));
  assert.deepEqual(forwarded.map((f) => f.range), [null, null, 'bytes=65536-', 'bytes=65536-']);
  assert.equal(await store.isComplete(ref, snapshot), true);
});

test('createSource refuses a non-https source_url at once', () => {
  for (const bad of ['http://files.example.com/m.onnx', 'https://127.0.0.1/m.onnx', 'file:///etc/passwd', 'https://files.example.com/']) {
    assert.throws(
      () => createSource(ref, { sourceUrl: bad, hubUrl: hub.url, baseDir: dir }),
      (e: unknown) => e instanceof ModelMoraError && e.code === 'URL_NOT_ALLOWED',
      bad,
    );
  }
});
