import fs from 'node:fs/promises';
import os from 'node:os';
import { isAlive } from '../domain/process-alive.js';

/**
 * A cross-process lock on one blob: `<blob>.lock` created with 'wx' (fails if it exists).
 * The holder rewrites the file's mtime every few seconds; a lock whose holder is a dead pid on
 * this host, or that nobody touched for `staleMs`, is taken over. Two processes pulling the
 * same model therefore download each blob once, and a killed pull never blocks the next one.
 */

export interface HeldLock {
  release(): Promise<void>;
}

export interface LockOptions {
  signal?: AbortSignal;
  /** A lock untouched this long is stale (default 60 s; the holder touches it every 5 s). */
  staleMs?: number;
  pollMs?: number;
  /** Called between polls while another holder works (e.g. to report its progress). */
  onWait?: () => Promise<void>;
  /** Checked between polls: true means the work is done and the lock is no longer needed. */
  done?: () => Promise<boolean>;
}

const TOUCH_MS = 5_000;

interface LockBody {
  pid: number;
  host: string;
}

/** Resolves to a held lock, or null when `done()` turned true while waiting. */
export async function acquireBlobLock(lockPath: string, opts: LockOptions = {}): Promise<HeldLock | null> {
  const staleMs = opts.staleMs ?? 60_000;
  const pollMs = opts.pollMs ?? 100;
  for (;;) {
    opts.signal?.throwIfAborted();
    const held = await tryCreate(lockPath);
    if (held) return held;
    if (await isStale(lockPath, staleMs)) {
      await breakStale(lockPath, staleMs);
      continue;
    }
    if (opts.done && (await opts.done())) return null;
    await opts.onWait?.();
    await sleep(pollMs, opts.signal);
  }
}

async function tryCreate(lockPath: string): Promise<HeldLock | null> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(lockPath, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
  try {
    await fh.writeFile(JSON.stringify({ pid: process.pid, host: os.hostname() } satisfies LockBody));
  } finally {
    await fh.close();
  }
  const timer = setInterval(() => {
    const now = new Date();
    fs.utimes(lockPath, now, now).catch(() => undefined);
  }, TOUCH_MS);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await fs.rm(lockPath, { force: true });
    },
  };
}

/**
 * Removes a stale lock while holding `<lock>.break`, after judging it stale again: two waiters
 * that both found it stale must not both remove it, or the slower one removes the lock the
 * faster one has just created and both go on to write the blob.
 */
async function breakStale(lockPath: string, staleMs: number): Promise<void> {
  const breaker = `${lockPath}.break`;
  try {
    await (await fs.open(breaker, 'wx')).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another waiter is breaking it. A breaker left behind by a killed process goes once it is old.
    const stat = await fs.stat(breaker).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > staleMs) await fs.rm(breaker, { force: true });
    return;
  }
  try {
    if (await isStale(lockPath, staleMs)) await fs.rm(lockPath, { force: true });
  } finally {
    await fs.rm(breaker, { force: true });
  }
}

async function isStale(lockPath: string, staleMs: number): Promise<boolean> {
  try {
    const [stat, text] = await Promise.all([fs.stat(lockPath), fs.readFile(lockPath, 'utf8')]);
    if (Date.now() - stat.mtimeMs > staleMs) return true;
    let body: Partial<LockBody> = {};
    try {
      body = JSON.parse(text) as Partial<LockBody>;
    } catch {
      // Being written right now: judge it by its age only.
      return false;
    }
    return body.host === os.hostname() && typeof body.pid === 'number' && !isAlive(body.pid);
  } catch (err) {
    // Released between our attempt and this check: not stale, just try again.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
