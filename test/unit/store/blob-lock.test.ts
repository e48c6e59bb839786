import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { acquireBlobLock } from '../../../src/store/blob-lock.js';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true }))));

async function tempLock(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'modelmora-blob-lock-'));
  dirs.push(dir);
  return path.join(dir, 'blob.lock');
}

/** A lock file as a killed holder leaves it: old mtime, another host (so only its age judges it). */
async function leaveStaleLock(lockPath: string): Promise<void> {
  await fs.writeFile(lockPath, JSON.stringify({ pid: 1, host: 'elsewhere' }));
  const old = new Date(Date.now() - 120_000);
  await fs.utimes(lockPath, old, old);
}

test('waiters that all find the same stale lock take it over one at a time', async () => {
  for (let round = 0; round < 20; round++) {
    const lockPath = await tempLock();
    await leaveStaleLock(lockPath);
    let holding = 0;
    let most = 0;
    let served = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const lock = await acquireBlobLock(lockPath, { staleMs: 60_000, pollMs: 5 });
        assert.ok(lock);
        holding++;
        most = Math.max(most, holding);
        await new Promise((resolve) => setTimeout(resolve, 10));
        holding--;
        served++;
        await lock.release();
      }),
    );
    assert.equal(served, 6);
    assert.equal(most, 1, `round ${round}: ${most} waiters held the lock at once`);
    assert.deepEqual(await fs.readdir(path.dirname(lockPath)), []);
  }
});

test('a break marker left by a killed waiter does not block the takeover once it is old', async () => {
  const lockPath = await tempLock();
  await leaveStaleLock(lockPath);
  await fs.writeFile(`${lockPath}.break`, '');
  const old = new Date(Date.now() - 120_000);
  await fs.utimes(`${lockPath}.break`, old, old);
  const lock = await acquireBlobLock(lockPath, { staleMs: 60_000, pollMs: 5 });
  assert.ok(lock);
  await lock.release();
  assert.deepEqual(await fs.readdir(path.dirname(lockPath)), []);
});
