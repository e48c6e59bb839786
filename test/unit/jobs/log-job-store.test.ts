import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { InferenceRequest } from '../../../src/domain/inference.js';
import type { JobRecord } from '../../../src/jobs/job-store.js';
import { LogJobStore } from '../../../src/jobs/log-job-store.js';

function job(id: string, createdAt: number, request: Partial<InferenceRequest> = {}): JobRecord {
  return {
    id,
    modelId: 'org/embed',
    priority: request.priority ?? 'medium',
    status: 'queued',
    progress: 0,
    createdAt,
    attempts: 0,
    request: {
      modelId: 'org/embed',
      items: [{ kind: 'text', text: `text of ${id}` }],
      batched: false,
      parameters: { normalize: true },
      priority: 'medium',
      timeoutSeconds: 60,
      ...request,
    },
  };
}

describe('LogJobStore', () => {
  let dir: string;
  const open: LogJobStore[] = [];
  const openStore = async (at = dir, options = {}) => {
    const store = await LogJobStore.open(at, options);
    open.push(store);
    return store;
  };
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'modelmora-jobstore-'));
  });
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('keeps jobs, updates, results and deletions across a reopen, binary parts exact', async () => {
    const store = await openStore();
    const image = Uint8Array.from([0, 1, 2, 250, 255]);
    await store.put(job('a', 1000));
    await store.put(job('b', 2000, { items: [{ kind: 'image', image }], priority: 'low' }));
    await store.put(job('c', 3000));
    const embedding = Float32Array.from([0.1, -2.5e-8, 3.4028234663852886e38, Math.fround(1 / 3)]);
    const updated = await store.update('a', {
      status: 'completed',
      progress: 100,
      completedAt: 1500,
      result: {
        modelId: 'org/embed',
        taskType: 'txt2embed',
        batched: false,
        outputs: [{ kind: 'embedding', embedding }],
        metadata: { inference_time_ms: 1, total_time_ms: 2, batch_size: 1, device: 'cpu' },
      },
    });
    assert.equal(updated?.status, 'completed');
    await store.update('b', { status: 'processing', attempts: 1, startedAt: 2100 });
    await store.delete(['c', 'unknown']);
    assert.equal(await store.update('c', { status: 'failed' }), undefined);
    await store.close();

    const again = await openStore();
    assert.deepEqual(again.warnings, []);
    const a = await again.get('a');
    assert.equal(a?.status, 'completed');
    const out = a?.result?.outputs[0];
    assert.ok(out?.kind === 'embedding' && out.embedding instanceof Float32Array);
    assert.deepEqual(Array.from(out.embedding), Array.from(embedding));
    const b = await again.get('b');
    assert.equal(b?.status, 'processing');
    assert.equal(b?.attempts, 1);
    assert.equal(b?.priority, 'low');
    assert.deepEqual(b?.request.items, [{ kind: 'image', image }]);
    assert.equal(await again.get('c'), undefined);
    assert.deepEqual((await again.unfinished()).map((j) => j.id), ['b']);
    assert.deepEqual((await again.list()).map((j) => j.id), ['b', 'a']);
    assert.deepEqual((await again.list({ status: 'completed' })).map((j) => j.id), ['a']);
    assert.deepEqual((await again.list({ finishedBefore: 1501 })).map((j) => j.id), ['a']);
    assert.deepEqual((await again.list({ finishedBefore: 1500 })).map((j) => j.id), []);
    assert.equal((await again.list())[0]?.['request' as keyof object], undefined, 'listings carry no request');
  });

  it('a finished job lets go of its inputs, in memory and, after compaction, in the journal', async () => {
    const store = await openStore();
    const image = new Uint8Array(256 * 1024).fill(7);
    await store.put(job('big', 1000, { items: [{ kind: 'image', image }, { kind: 'image', image }] }));
    await store.put(job('waiting', 2000, { items: [{ kind: 'image', image }] }));
    await store.update('big', { status: 'processing', attempts: 1 });
    assert.equal((await store.get('big'))?.request.items.length, 2, 'a running job keeps its inputs');
    await store.update('big', { status: 'failed', error: { error_code: 'INFERENCE_FAILED', message: 'boom' } });
    const finished = await store.get('big');
    assert.deepEqual(finished?.request.items, []);
    assert.equal(finished?.request.priority, 'medium', 'the rest of the request stays');
    assert.equal(finished?.error?.error_code, 'INFERENCE_FAILED');
    await store.close();

    // Replayed from the journal (put with inputs, then the finishing update), then compacted.
    const again = await openStore();
    assert.deepEqual((await again.get('big'))?.request.items, []);
    assert.equal((await again.get('waiting'))?.request.items.length, 1, 'an unfinished job keeps its inputs for its rerun');
    const journal = await fs.readFile(path.join(dir, 'jobs.log'), 'utf8');
    assert.ok(journal.length < 256 * 1024 * 4 / 3 * 2, `only the waiting job's image is left (${journal.length} bytes)`);
  });

  it('a put is in the journal when it resolves (a copy taken then, as after kill -9, has it)', async () => {
    const store = await openStore();
    await store.put(job('durable', 1));
    const copy = path.join(dir, 'copy');
    await fs.mkdir(copy);
    await fs.copyFile(path.join(dir, 'jobs.log'), path.join(copy, 'jobs.log'));
    const crashed = await openStore(copy);
    assert.equal((await crashed.get('durable'))?.request.items.length, 1);
  });

  it('group commit: 200 concurrent puts share two syncs and all survive', async () => {
    const store = await openStore();
    const before = store.stats().syncs;
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.put(job(`j${i}`, i))));
    // The first put starts a flush alone; the other 199 queue behind it and share the next one.
    assert.equal(store.stats().syncs - before, 2);
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.update(`j${i}`, { status: 'processing', attempts: 1 })));
    await store.close();
    const again = await openStore();
    const jobs = await again.unfinished();
    assert.equal(jobs.length, 200);
    assert.ok(jobs.every((j) => j.status === 'processing' && j.attempts === 1));
    assert.deepEqual(jobs.map((j) => j.createdAt), Array.from({ length: 200 }, (_, i) => i));
  });

  it('skips and reports a torn trailing record, then appends cleanly after it', async () => {
    const store = await openStore();
    await store.put(job('kept', 1));
    await store.update('kept', { status: 'processing', attempts: 1 });
    await store.close();
    const log = path.join(dir, 'jobs.log');
    const line = JSON.stringify({ t: 'upd', id: 'kept', set: { status: 'failed' } });
    await fs.appendFile(log, line.slice(0, line.length - 7)); // cut mid-record, no newline

    const recovered = await openStore();
    assert.equal(recovered.warnings.length, 1);
    assert.match(recovered.warnings[0]!, /line 3: damaged record skipped/);
    assert.equal((await recovered.get('kept'))?.status, 'processing');
    await recovered.put(job('after', 2));
    await recovered.close();

    const clean = await openStore();
    assert.deepEqual(clean.warnings, []);
    assert.deepEqual((await clean.unfinished()).map((j) => j.id), ['kept', 'after']);
  });

  it('skips a corrupt record in the middle and keeps the records after it', async () => {
    const lines = [
      JSON.stringify({ t: 'put', job: { id: 'x', modelId: 'm', priority: 'high', createdAt: 1, request: { modelId: 'm', items: [{ text: 't' }], parameters: {}, priority: 'high', timeoutSeconds: 5 } } }),
      '{"t":"upd","id":"x","set":{"status":"bogus"}}',
      'not json at all',
      JSON.stringify({ t: 'upd', id: 'x', set: { status: 'processing', attempts: 2 } }),
    ];
    await fs.writeFile(path.join(dir, 'jobs.log'), `${lines.join('\n')}\n`);
    const store = await openStore();
    assert.equal(store.warnings.length, 2);
    const x = await store.get('x');
    assert.equal(x?.status, 'processing');
    assert.equal(x?.attempts, 2);
    assert.equal(x?.priority, 'high');
  });

  it('compacts as the journal grows: superseded and deleted records go, state stays', async () => {
    const store = await openStore(dir, { minCompactBytes: 4096 });
    for (let i = 0; i < 20; i++) await store.put(job(`k${i}`, i));
    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.update(`k${i}`, { progress: round, attempts: round })));
    }
    await store.delete(Array.from({ length: 10 }, (_, i) => `k${i}`));
    assert.ok(store.stats().compactions >= 2, `compactions: ${store.stats().compactions}`);
    await store.compact();
    const text = await fs.readFile(path.join(dir, 'jobs.log'), 'utf8');
    const records = text.trim().split('\n');
    assert.equal(records.length, 10, 'one put per live job');
    assert.ok(!text.includes('"k3"'), 'deleted jobs are gone from the file');
    assert.equal(store.stats().bytes, Buffer.byteLength(text));
    await store.close();
    const again = await openStore();
    const jobs = await again.unfinished();
    assert.deepEqual(jobs.map((j) => j.id), Array.from({ length: 10 }, (_, i) => `k${i + 10}`));
    assert.ok(jobs.every((j) => j.attempts === 9 && j.progress === 9));
  });

  it('a leftover temp file from a compaction cut short is ignored and removed', async () => {
    const store = await openStore();
    await store.put(job('safe', 1));
    await store.close();
    await fs.writeFile(path.join(dir, 'jobs.log.tmp'), '{"t":"put","job":{"id":"half');
    const again = await openStore();
    assert.deepEqual((await again.unfinished()).map((j) => j.id), ['safe']);
    assert.deepEqual(again.warnings, []);
    await assert.rejects(fs.access(path.join(dir, 'jobs.log.tmp')));
  });
});
