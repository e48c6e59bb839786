import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ModelRef } from '../../src/domain/model-ref.js';
import { createSource } from '../../src/hub/source.js';
import { ModelStore } from '../../src/store/model-store.js';
import { removeDir, tempDir, writeModelFolder } from '../support/fixtures.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'pull-child.js');
let dir: string;
let hub: TestHub;
const children: ChildProcessWithoutNullStreams[] = [];

before(async () => {
  dir = await tempDir();
  await writeModelFolder(path.join(dir, 'fixture'), { 'a.bin': 700_000, 'b.bin': 300_000, 'config.json': '{}' });
  hub = await startTestHub({ repos: { 'org/shared': { folder: path.join(dir, 'fixture') } } });
});
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill();
  await hub.close();
  await removeDir(dir);
});

function startChild(args: object): { proc: ChildProcessWithoutNullStreams; ready: Promise<void>; result: Promise<{ code: number | null; out: string; err: string }> } {
  const proc = spawn(process.execPath, [child, JSON.stringify(args)]);
  children.push(proc);
  let out = '';
  let err = '';
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n')) readyResolve();
  });
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const result = new Promise<{ code: number | null; out: string; err: string }>((resolve) => proc.on('close', (code) => resolve({ code, out, err })));
  return { proc, ready, result };
}

test('two processes pulling one model into one cache download each blob once', async () => {
  const ref = ModelRef.parse('org/shared');
  const home = path.join(dir, 'home');
  const snapshot = await createSource(ref, { hubUrl: hub.url, baseDir: dir }).resolve('main');
  // Slow bodies keep both processes inside the same downloads for a while.
  hub.misbehave({ kind: 'slow', delayMs: 15, times: Infinity });
  const before = hub.requests.length;
  const args = { home, hubUrl: hub.url, id: ref.id, snapshot };
  const a = startChild(args);
  const b = startChild(args);
  await Promise.all([a.ready, b.ready]);
  a.proc.stdin.write('go\n');
  b.proc.stdin.write('go\n');
  const [ra, rb] = await Promise.all([a.result, b.result]);
  hub.clearMisbehaviour();
  assert.equal(ra.code, 0, ra.err);
  assert.equal(rb.code, 0, rb.err);
  // Both started before any blob existed, so both really raced for the same three blobs.
  for (const r of [ra, rb]) assert.deepEqual(JSON.parse(r.out.split('\n')[1]!), { start: 1, cachedAtStart: 0, progress: JSON.parse(r.out.split('\n')[1]!).progress, file: 3, done: 1 });
  const served = hub.requests.slice(before).filter((r) => r.method === 'GET' && r.file);
  assert.deepEqual(served.map((r) => r.file).sort(), ['a.bin', 'b.bin', 'config.json']);
  assert.ok(served.every((r) => r.range === undefined && r.status === 200));
  assert.equal(await new ModelStore(home).isComplete(ref, snapshot), true);
});
