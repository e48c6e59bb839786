import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ModelMoraError } from '../domain/errors.js';
import { isRetryable } from '../hub/http-range.js';
import type { OpenedFile, SourceFile } from '../hub/source.js';
import { acquireBlobLock, sleep } from './blob-lock.js';

/**
 * Puts one blob in place: bytes go to `<blob>.incomplete`, a rerun resumes it with Range,
 * sha256 is computed while streaming, and only a verified, fsynced file is renamed to the
 * final name. One download per blob: concurrent callers in this process share one promise,
 * other processes wait on `<blob>.lock`.
 */

export interface BlobRequest {
  blobPath: string;
  file: SourceFile;
  open: (offset: number, signal: AbortSignal) => Promise<OpenedFile>;
  signal?: AbortSignal;
  retries: number;
  retryDelayMs: number;
  /** Bytes of this blob on disk so far (absolute, may go back to 0 on a restart). */
  onBytes: (bytes: number) => void;
  onRetry: (attempt: number, reason: string) => void;
  /** Opens the partial file for writing; default node:fs (tests inject failures such as ENOSPC). */
  openWriter?: OpenWriter;
}

/** The part of a file handle the downloader writes through. */
export interface BlobWriter {
  write(data: Buffer): Promise<unknown>;
  truncate(length: number): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export type OpenWriter = (file: string, flags: 'w' | 'a') => Promise<BlobWriter>;

const openWithFs: OpenWriter = (file, flags) => fs.open(file, flags);

interface Inflight {
  promise: Promise<void>;
  listeners: Set<(bytes: number) => void>;
  /** Last byte count reported, handed to callers that join late. */
  bytes: number;
  /** Aborted only when every caller waiting on this blob has given up. */
  controller: AbortController;
  waiting: number;
}

/** Buffered writes: fewer syscalls than one write per network chunk. */
const WRITE_CHUNK = 1 << 20;

export class BlobDownloads {
  private readonly inflight = new Map<string, Inflight>();

  async ensure(req: BlobRequest): Promise<void> {
    let entry = this.inflight.get(req.blobPath);
    // A download being cancelled by its last waiter is no use to a new caller: let it stop, then start afresh.
    while (entry?.controller.signal.aborted) {
      await entry.promise.catch(() => undefined);
      entry = this.inflight.get(req.blobPath);
    }
    if (!entry) {
      const controller = new AbortController();
      const listeners = new Set<(bytes: number) => void>();
      const created: Inflight = {
        controller,
        listeners,
        bytes: 0,
        waiting: 0,
        promise: downloadBlob(req, controller.signal, (b) => {
          created.bytes = b;
          listeners.forEach((l) => l(b));
        }).finally(() => {
          if (this.inflight.get(req.blobPath) === created) this.inflight.delete(req.blobPath);
        }),
      };
      this.inflight.set(req.blobPath, created);
      entry = created;
    }
    const shared = entry;
    if (shared.bytes > 0) req.onBytes(shared.bytes);
    shared.listeners.add(req.onBytes);
    shared.waiting++;
    const signal = req.signal;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        // The download itself stops only when nobody else is waiting for it; the last one
        // to leave waits until it has stopped, so no lock or open file outlives the pull.
        if (--shared.waiting > 0) return reject(cancelled(signal?.reason));
        shared.controller.abort();
        shared.promise.catch(() => undefined).finally(() => reject(cancelled(signal?.reason)));
      };
      shared.promise.then(() => {
        // A caller that joined after the last chunk still sees the file as done.
        req.onBytes(req.file.size);
        resolve();
      }, reject).finally(() => {
        signal?.removeEventListener('abort', onAbort);
        shared.listeners.delete(req.onBytes);
      });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function cancelled(cause?: unknown): ModelMoraError {
  return new ModelMoraError('CANCELLED', 'Download cancelled', { cause });
}

async function sizeOf(file: string): Promise<number | null> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return null;
  }
}

async function downloadBlob(req: BlobRequest, signal: AbortSignal, onBytes: (b: number) => void): Promise<void> {
  const { blobPath, file } = req;
  const present = async () => (await sizeOf(blobPath)) === file.size;
  // Finished by someone else since the caller looked: still report the bytes as done.
  if (await present()) return onBytes(file.size);
  await fs.mkdir(path.dirname(blobPath), { recursive: true });
  const incomplete = `${blobPath}.incomplete`;
  const lock = await acquireBlobLock(`${blobPath}.lock`, {
    signal,
    done: present,
    // Another process holds the blob: report its progress from the size of its partial file.
    onWait: async () => onBytes((await sizeOf(incomplete)) ?? 0),
  }).catch((err: unknown) => {
    throw signal.aborted ? cancelled(err) : err;
  });
  if (!lock) return onBytes(file.size);
  try {
    if (await present()) return onBytes(file.size);
    // A partial file from an earlier run may hold bytes of a different file version: if the
    // result fails its hash after a resume, start over once before calling it a mismatch.
    let restarted = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const { digest, resumed } = await fetchInto(incomplete, req, signal, onBytes);
        if (digest === file.sha256) break;
        await fs.rm(incomplete, { force: true });
        if (resumed && !restarted) {
          restarted = true;
          req.onRetry(attempt + 1, `'${file.path}' failed its sha256 check after a resume; starting over`);
          continue;
        }
        throw new ModelMoraError('CHECKSUM_MISMATCH', `'${file.path}' failed its sha256 check (expected ${file.sha256.slice(0, 12)}..., got ${digest.slice(0, 12)}...)`);
      } catch (err) {
        if (signal.aborted) throw cancelled(err);
        // Bytes that proved wrong are no base to resume from; on a full disk the partial file
        // goes too, so a failed download gives back the space it took.
        if (err instanceof ModelMoraError && (err.code === 'CHECKSUM_MISMATCH' || err.code === 'INSUFFICIENT_STORAGE')) await fs.rm(incomplete, { force: true });
        if (!isRetryable(err) || attempt >= req.retries) throw err;
        req.onRetry(attempt + 1, err instanceof Error ? err.message : 'download failed');
        await sleep(req.retryDelayMs * 2 ** attempt, signal).catch((e: unknown) => {
          throw cancelled(e);
        });
      }
    }
    await fs.rename(incomplete, blobPath);
    await syncDir(path.dirname(blobPath));
  } finally {
    await lock.release();
  }
}

/**
 * Appends to the partial file from where it stops, hashing as bytes arrive (the part already on
 * disk is hashed first); starts over when the server ignores Range. Returns the sha256.
 */
async function fetchInto(incomplete: string, req: BlobRequest, signal: AbortSignal, onBytes: (b: number) => void): Promise<{ digest: string; resumed: boolean }> {
  const { file } = req;
  let have = (await sizeOf(incomplete)) ?? 0;
  if (have > file.size) have = 0;
  const resumed = have > 0;
  let hash = resumed ? await hashPrefix(incomplete, have) : createHash('sha256');
  onBytes(have);
  if (have === file.size) return { digest: hash.digest('hex'), resumed };
  const opened = await req.open(have, signal);
  if (opened.offset !== have) {
    if (opened.offset !== 0) throw new ModelMoraError('DOWNLOAD_FAILED', `The source resumed '${file.path}' at the wrong offset`);
    have = 0;
    hash = createHash('sha256');
  }
  const fh = await (req.openWriter ?? openWithFs)(incomplete, have === 0 ? 'w' : 'a');
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      try {
        await fh.write(pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes));
      } catch (err) {
        // Dropped so the `finally` below does not try them again.
        pending = [];
        pendingBytes = 0;
        throw storageError(err);
      }
      have += pendingBytes;
      pending = [];
      pendingBytes = 0;
      onBytes(have);
    };
    try {
      for await (const chunk of opened.body) {
        if (have + pendingBytes + chunk.length > file.size) {
          pending = [];
          pendingBytes = 0;
          await fh.truncate(0);
          throw new ModelMoraError('CHECKSUM_MISMATCH', `'${file.path}' is larger than its listed size`);
        }
        hash.update(chunk);
        pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
        pendingBytes += chunk.length;
        if (pendingBytes >= WRITE_CHUNK) await flush();
        else onBytes(have + pendingBytes);
      }
    } finally {
      // What arrived before a failure stays on disk for the next attempt.
      await flush();
    }
  } finally {
    await fh.sync().catch(() => undefined);
    await fh.close().catch(() => undefined);
  }
  if (have < file.size) throw new ModelMoraError('DOWNLOAD_FAILED', `The connection ended early while downloading '${file.path}'`, { details: { retryable: true } });
  return { digest: hash.digest('hex'), resumed: resumed && opened.offset > 0 };
}

/** A full disk (or quota) is INSUFFICIENT_STORAGE (507), not a download failure to retry. */
function storageError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new ModelMoraError('INSUFFICIENT_STORAGE', 'No space left in the model cache', { cause: err });
  return err;
}

async function hashPrefix(file: string, bytes: number): Promise<Hash> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { start: 0, end: bytes - 1 }) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash;
}

/** Makes the rename itself durable; not supported everywhere (Windows), so best effort. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r').catch(() => null);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close();
}
