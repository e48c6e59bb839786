import assert from 'node:assert/strict';
import { readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { Clock } from '../../../src/domain/clock.js';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { ArtifactStore, isArtifactId } from '../../../src/store/artifacts.js';
import { removeDir, tempDir } from '../../support/fixtures.js';

const HOUR = 3_600_000;

/** Real time shifted by `skew` (file mtimes are real), with timers recorded instead of run. */
function skewedClock(): Clock & { skew: number; timers: number[] } {
  const clock = {
    skew: 0,
    timers: [] as number[],
    now: () => Date.now() + clock.skew,
    setTimer: (_fn: () => void, ms: number) => {
      clock.timers.push(ms);
      return { cancel: () => {} };
    },
  };
  return clock;
}

const notFound = (err: unknown) => err instanceof ModelMoraError && err.code === 'NOT_FOUND';

describe('ArtifactStore', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await removeDir(dir);
  });
  const store = async (retentionMs = 24 * HOUR) => {
    const home = await tempDir();
    dirs.push(home);
    const clock = skewedClock();
    const dir = path.join(home, 'artifacts');
    return { dir, clock, store: new ArtifactStore({ dir, retentionMs, clock, pruneEveryMs: 60_000 }) };
  };

  test('put then get returns the same bytes under a uuid file name', async () => {
    const { dir, store: s } = await store();
    const bytes = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
    const id = await s.putPng(bytes);
    assert.ok(isArtifactId(id));
    const got = await s.get(id);
    assert.deepEqual(new Uint8Array(got.bytes), bytes);
    assert.equal(got.contentType, 'image/png');
    assert.deepEqual(await readdir(dir), [`${id}.png`]);
  });

  test('the id comes from the content: the same bytes give the same id and one file, and storing again restarts the retention', async () => {
    const { dir, store: s } = await store(HOUR);
    const a = await s.putPng(new Uint8Array([1, 2, 3]));
    const b = await s.putPng(new Uint8Array([1, 2, 4]));
    assert.notEqual(a, b);
    const past = new Date(Date.now() - 2 * HOUR);
    await utimes(path.join(dir, `${a}.png`), past, past);
    await assert.rejects(s.get(a), notFound);
    assert.equal(await s.putPng(new Uint8Array([1, 2, 3])), a);
    assert.deepEqual(new Uint8Array((await s.get(a)).bytes), new Uint8Array([1, 2, 3]));
    assert.equal((await readdir(dir)).length, 2);
  });

  test('malformed, unknown and path-like ids are NOT_FOUND', async () => {
    const { store: s } = await store();
    for (const id of ['nope', '../registry.json', '00000000-0000-0000-0000-000000000000', 'ABCDEF00-0000-0000-0000-000000000000']) {
      await assert.rejects(s.get(id), notFound);
    }
  });

  test('after the retention an artifact is gone for get and removed by prune; fresh ones stay', async () => {
    const { dir, clock, store: s } = await store(HOUR);
    const old = await s.putPng(new Uint8Array([1]));
    const fresh = await s.putPng(new Uint8Array([2]));
    const past = new Date(Date.now() - 2 * HOUR);
    await utimes(path.join(dir, `${old}.png`), past, past);
    await writeFile(path.join(dir, 'unrelated.txt'), 'kept');
    await assert.rejects(s.get(old), notFound);
    assert.equal(await s.prune(), 1);
    assert.deepEqual((await readdir(dir)).sort(), [`${fresh}.png`, 'unrelated.txt'].sort());
    clock.skew = 2 * HOUR;
    await assert.rejects(s.get(fresh), notFound);
  });

  test('retention -1 keeps everything; start() prunes now and re-arms its timer', async () => {
    const forever = await store(-1);
    const id = await forever.store.putPng(new Uint8Array([1]));
    forever.clock.skew = 1000 * HOUR;
    assert.equal((await forever.store.get(id)).bytes.length, 1);
    assert.equal(await forever.store.prune(), 0);

    const { clock, store: s } = await store(HOUR);
    s.start();
    for (let i = 0; i < 200 && clock.timers.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(clock.timers, [60_000]);
    s.stop();
  });
});
