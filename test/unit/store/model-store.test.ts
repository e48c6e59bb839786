import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { ModelRef } from '../../../src/domain/model-ref.js';
import { contentCommit } from '../../../src/hub/content-commit.js';
import type { ModelSource, OpenedFile, Snapshot, SourceFile } from '../../../src/hub/source.js';
import { ModelStore, type PullEvent } from '../../../src/store/model-store.js';
import { collect, listTree, removeDir, tempDir } from '../../support/fixtures.js';

/** An in-memory source: no sockets. `gate` holds a file's stream until the test releases it. */
class MemorySource implements ModelSource {
  readonly kind = 'local' as const;
  readonly location = 'memory';
  opens: { path: string; offset: number }[] = [];
  gate: Promise<void> | undefined;
  /** Called when a stream reaches the gate, after its first chunk. */
  onGate: (() => void) | undefined;
  constructor(readonly data: Map<string, Buffer>) {}
  snapshot(): Snapshot {
    const files: SourceFile[] = [...this.data].map(([p, b]) => ({ path: p, size: b.length, sha256: createHash('sha256').update(b).digest('hex') }));
    files.sort((a, b) => (a.path < b.path ? -1 : 1));
    return { commit: contentCommit(files), files };
  }
  async resolve(): Promise<Snapshot> {
    return this.snapshot();
  }
  async open(_commit: string, file: SourceFile, offset: number, signal?: AbortSignal): Promise<OpenedFile> {
    this.opens.push({ path: file.path, offset });
    const bytes = this.data.get(file.path)!;
    const gate = this.gate;
    const onGate = this.onGate;
    const aborted = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
    async function* body() {
      for (let at = offset; at < bytes.length; at += 10_000) {
        if (gate && at > offset) {
          onGate?.();
          await Promise.race([gate, aborted]);
        }
        signal?.throwIfAborted();
        yield bytes.subarray(at, at + 10_000);
      }
    }
    return { offset, body: body() };
  }
}

let dir: string;
const ref = ModelRef.parse('org/mem');
before(async () => {
  dir = await tempDir();
});
after(() => removeDir(dir));
let n = 0;
const newStore = () => new ModelStore(path.join(dir, `home-${n++}`));
const source = () => new MemorySource(new Map([['a.bin', randomBytes(50_000)], ['sub/b.bin', randomBytes(30_000)], ['c.json', Buffer.from('{}')]]));
const blobOf = (store: ModelStore, f: SourceFile) => path.join(store.cacheDir, ref.cacheFolder, 'blobs', f.sha256);

test('pull reports start, byte progress per file, file and done, in that order', async () => {
  const store = newStore();
  const src = source();
  const snapshot = src.snapshot();
  const events = await collect(store.pull(ref, src, snapshot, { concurrency: 1 }));
  assert.deepEqual(events[0], { type: 'start', modelId: 'org/mem', commit: snapshot.commit, files: snapshot.files.map((f) => ({ path: f.path, size: f.size, cached: false })), totalBytes: 80_002 });
  const progress = events.filter((e): e is Extract<PullEvent, { type: 'progress' }> => e.type === 'progress');
  const done = progress.map((p) => p.doneBytes);
  assert.deepEqual(done, [...done].sort((a, b) => a - b), 'doneBytes never goes back');
  assert.equal(done.at(-1), 80_002);
  assert.deepEqual(events.filter((e) => e.type === 'file').map((e) => e.type === 'file' && e.path), ['a.bin', 'c.json', 'sub/b.bin']);
  assert.equal(events.at(-1)?.type, 'done');
  assert.equal(await store.isComplete(ref, snapshot), true);
  const tree = await listTree(path.join(store.cacheDir, ref.cacheFolder));
  assert.deepEqual(tree.filter((p) => p.endsWith('.incomplete') || p.endsWith('.lock') || p.endsWith('.tmp')), []);
});

test('isComplete is false for a missing or truncated file; remove() deletes the model', async () => {
  const store = newStore();
  const src = source();
  const snapshot = src.snapshot();
  assert.equal(await store.isComplete(ref, snapshot), false);
  await collect(store.pull(ref, src, snapshot));
  await fs.truncate(blobOf(store, snapshot.files[0]!), 10);
  assert.equal(await store.isComplete(ref, snapshot), false);
  const report = await store.verify(ref, snapshot);
  assert.deepEqual(report.bad, [{ path: 'a.bin', reason: 'size 10, expected 50000' }]);
  await store.remove(ref);
  assert.deepEqual(await listTree(store.cacheDir), []);
});

test('cancelling a pull stops it with CANCELLED, keeps the partial file, and a rerun resumes it', async () => {
  const store = newStore();
  const src = source();
  const snapshot = src.snapshot();
  const file = snapshot.files.find((f) => f.path === 'a.bin')!;
  let release!: () => void;
  src.gate = new Promise((r) => (release = r));
  const controller = new AbortController();
  src.onGate = () => controller.abort();
  const run = collect(store.pull(ref, src, { commit: snapshot.commit, files: [file] }, { signal: controller.signal }));
  await assert.rejects(run, (e: unknown) => e instanceof ModelMoraError && e.code === 'CANCELLED');
  release();
  await assert.rejects(fs.stat(blobOf(store, file)));
  const partial = (await fs.stat(`${blobOf(store, file)}.incomplete`)).size;
  assert.equal(partial, 10_000);
  src.gate = undefined;
  src.onGate = undefined;
  await collect(store.pull(ref, src, snapshot));
  assert.deepEqual(src.opens.filter((o) => o.path === 'a.bin').map((o) => o.offset), [0, 10_000]);
});

test('a lock left by a dead process is taken over; a live one is waited for', async () => {
  const store = newStore();
  const src = source();
  const snapshot = src.snapshot();
  const file = snapshot.files.find((f) => f.path === 'a.bin')!;
  const blob = blobOf(store, file);
  await fs.mkdir(path.dirname(blob), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  await fs.writeFile(`${blob}.lock`, JSON.stringify({ pid: dead, host: os.hostname() }));
  await collect(store.pull(ref, src, { commit: snapshot.commit, files: [file] }));
  assert.equal(await store.isComplete(ref, { commit: snapshot.commit, files: [file] }), true);

  // A live holder (another process): the pull waits, reports the holder's bytes, and downloads nothing itself.
  const other = snapshot.files.find((f) => f.path === 'sub/b.bin')!;
  const otherBlob = blobOf(store, other);
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
  try {
    await fs.writeFile(`${otherBlob}.lock`, JSON.stringify({ pid: holder.pid, host: os.hostname() }));
    await fs.writeFile(`${otherBlob}.incomplete`, src.data.get('sub/b.bin')!.subarray(0, 12_345));
    const events: PullEvent[] = [];
    const pulling = (async () => {
      for await (const e of store.pull(ref, src, { commit: snapshot.commit, files: [other] })) {
        events.push(e);
        // The "other process" finishes once we have seen its progress.
        if (e.type === 'progress' && e.fileBytes === 12_345) {
          await fs.writeFile(`${otherBlob}.incomplete`, src.data.get('sub/b.bin')!);
          await fs.rename(`${otherBlob}.incomplete`, otherBlob);
          await fs.rm(`${otherBlob}.lock`);
        }
      }
    })();
    await pulling;
    assert.ok(events.some((e) => e.type === 'progress' && e.fileBytes === 12_345));
    assert.equal(src.opens.filter((o) => o.path === 'sub/b.bin').length, 0);
    assert.equal(await store.isComplete(ref, { commit: snapshot.commit, files: [other] }), true);
  } finally {
    holder.kill();
  }
});

test('a lock from another host untouched for longer than the stale limit is taken over', async () => {
  const store = newStore();
  const src = source();
  const snapshot = src.snapshot();
  const file = snapshot.files.find((f) => f.path === 'c.json')!;
  const blob = blobOf(store, file);
  await fs.mkdir(path.dirname(blob), { recursive: true });
  await fs.writeFile(`${blob}.lock`, JSON.stringify({ pid: 1, host: 'another-host' }));
  const old = new Date(Date.now() - 120_000);
  await fs.utimes(`${blob}.lock`, old, old);
  await collect(store.pull(ref, src, { commit: snapshot.commit, files: [file] }));
  assert.equal((await fs.readFile(blob, 'utf8')), '{}');
});

test('stopping iteration early cancels the downloads still running', async () => {
  const store = newStore();
  const src = source();
  src.gate = new Promise(() => undefined); // never opens: only cancellation ends these streams
  const snapshot = src.snapshot();
  let gated = 0;
  const allGated = new Promise<void>((resolve) => (src.onGate = () => ++gated === 2 && resolve()));
  const pulling = store.pull(ref, src, snapshot)[Symbol.asyncIterator]();
  await pulling.next(); // start
  await pulling.next(); // the workers run once the generator is resumed past start
  await allGated;
  // return() runs the pull's finally, which aborts the downloads and waits for them to stop.
  await pulling.return?.(undefined);
  const tree = await listTree(path.join(store.cacheDir, ref.cacheFolder, 'blobs'));
  assert.deepEqual(tree.filter((p) => !p.endsWith('.incomplete')).filter((p) => p !== snapshot.files.find((f) => f.path === 'c.json')!.sha256), []);
});

test('concurrent pulls in one process, even through two ModelStore objects, open each file once', async () => {
  const home = path.join(dir, 'home-shared');
  const src = source();
  const other = new MemorySource(src.data);
  let release!: () => void;
  src.gate = new Promise((r) => (release = r));
  const snapshot = src.snapshot();
  const first = collect(new ModelStore(home).pull(ref, src, snapshot));
  // Let the first pull start its downloads before the second asks for the same blobs.
  await new Promise<void>((resolve) => (src.onGate = () => resolve()));
  const second = collect(new ModelStore(home).pull(ref, other, snapshot));
  release();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a.at(-1)?.type, 'done');
  assert.equal(b.at(-1)?.type, 'done');
  assert.deepEqual(src.opens.map((o) => o.path).sort(), ['a.bin', 'c.json', 'sub/b.bin']);
  assert.deepEqual(other.opens, []);
  const lastB = b.filter((e) => e.type === 'progress').at(-1);
  assert.equal(lastB?.type === 'progress' && lastB.doneBytes, 80_002);
});

test('a partial file holding wrong bytes is resumed, fails its hash, and is fetched again from zero once', async () => {
  const store = newStore();
  const src = source();
  const snapshot = src.snapshot();
  const file = snapshot.files.find((f) => f.path === 'a.bin')!;
  const blob = blobOf(store, file);
  await fs.mkdir(path.dirname(blob), { recursive: true });
  await fs.writeFile(`${blob}.incomplete`, randomBytes(20_000));
  const events = await collect(store.pull(ref, src, { commit: snapshot.commit, files: [file] }));
  assert.deepEqual(src.opens, [{ path: 'a.bin', offset: 20_000 }, { path: 'a.bin', offset: 0 }]);
  assert.equal(events.filter((e) => e.type === 'retry').length, 1);
  assert.equal(await store.isComplete(ref, { commit: snapshot.commit, files: [file] }), true);
  assert.deepEqual((await store.verify(ref, { commit: snapshot.commit, files: [file] })).bad, []);
});
