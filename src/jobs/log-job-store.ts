import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ModelMoraError } from '../domain/errors.js';
import { decodeJob, decodePatch, encodeJob, encodePatch, type JsonObject } from './job-codec.js';
import { dropInputsIfFinished, filterJobs, isFinished, summaryOf, type JobPatch, type JobRecord, type JobStore, type JobStoreFilter, type JobSummary } from './job-store.js';

/**
 * The embedded JobStore: a journal of JSON lines in <home>/jobs/jobs.log, with every job in memory.
 *
 * Writes append one line per change ({t:put|upd|del}). Writes made while a flush is running wait
 * for it and then share one write + fdatasync (group commit), so a burst of submits costs a few
 * syncs, not one each. A write's promise resolves only after its sync. The journal is rewritten
 * (compaction: temp file, fsync, rename, fsync of the folder) at open and whenever it has grown
 * to twice its size after the last compaction, so superseded and deleted records do not pile up.
 *
 * Crash safety: kill -9 can cut the last line short; on open such a line (or any line that does
 * not parse) is skipped and reported in `warnings`, never fatal, and the compaction at open
 * leaves a clean file to append to. A crash during compaction leaves the old journal in place.
 */

export interface LogJobStoreOptions {
  /** Compaction never runs below this journal size. Default 1 MiB. */
  minCompactBytes?: number;
}

interface PendingWrite {
  line: string;
  apply: () => void;
  resolve: () => void;
  reject: (err: Error) => void;
  /** A compaction request: resolved once the journal is rewritten. */
  compact: boolean;
}

const LOG = 'jobs.log';
const TMP = 'jobs.log.tmp';

export class LogJobStore implements JobStore {
  /** Lines skipped at open (torn or corrupt), for the daemon's log. */
  readonly warnings: string[];
  private readonly dir: string;
  private readonly jobs: Map<string, JobRecord>;
  private readonly minCompactBytes: number;
  private handle: fs.FileHandle | undefined;
  private size = 0;
  private compactedSize = 0;
  private pending: PendingWrite[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private broken: Error | undefined;
  private closed = false;
  private flushRunning = false;
  private syncs = 0;
  private compactions = 0;

  private constructor(dir: string, jobs: Map<string, JobRecord>, warnings: string[], options: LogJobStoreOptions) {
    this.dir = dir;
    this.jobs = jobs;
    this.warnings = warnings;
    this.minCompactBytes = options.minCompactBytes ?? 1024 * 1024;
  }

  /** Reads the journal in `dir` (created if missing), skipping damaged lines, and compacts it. */
  static async open(dir: string, options: LogJobStoreOptions = {}): Promise<LogJobStore> {
    await fs.mkdir(dir, { recursive: true });
    await fs.rm(path.join(dir, TMP), { force: true });
    const { jobs, warnings } = await replay(path.join(dir, LOG));
    const store = new LogJobStore(dir, jobs, warnings, options);
    await store.compactNow();
    return store;
  }

  async put(job: JobRecord): Promise<void> {
    const record = { ...job };
    await this.append({ t: 'put', job: encodeJob(record) }, () => this.jobs.set(record.id, record));
  }

  async update(id: string, patch: JobPatch): Promise<JobRecord | undefined> {
    if (!this.jobs.has(id)) return undefined;
    await this.append({ t: 'upd', id, set: encodePatch(patch) }, () => {
      const job = this.jobs.get(id);
      if (job) dropInputsIfFinished(Object.assign(job, patch));
    });
    const job = this.jobs.get(id);
    return job && { ...job };
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const job = this.jobs.get(id);
    return job && { ...job };
  }

  async list(filter: JobStoreFilter = {}): Promise<JobSummary[]> {
    return filterJobs(this.jobs.values(), filter).map(summaryOf);
  }

  async delete(ids: readonly string[]): Promise<void> {
    const known = ids.filter((id) => this.jobs.has(id));
    if (known.length === 0) return;
    await this.append({ t: 'del', ids: known }, () => {
      for (const id of known) this.jobs.delete(id);
    });
  }

  async unfinished(): Promise<JobRecord[]> {
    return [...this.jobs.values()]
      .filter((job) => !isFinished(job.status))
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((job) => ({ ...job }));
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushRunning) await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
  }

  /** Rewrites the journal with live jobs only (also done on its own as it grows). */
  async compact(): Promise<void> {
    await this.append(undefined, () => undefined, true);
  }

  /** For tests and status: journal bytes, syncs and compactions so far, live jobs. */
  stats(): { bytes: number; syncs: number; compactions: number; jobs: number } {
    return { bytes: this.size, syncs: this.syncs, compactions: this.compactions, jobs: this.jobs.size };
  }

  private append(record: JsonObject | undefined, apply: () => void, compact = false): Promise<void> {
    if (this.closed) return Promise.reject(new ModelMoraError('SERVICE_UNAVAILABLE', 'Job store is closed'));
    if (this.broken) return Promise.reject(storeFailed(this.broken));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: record ? `${JSON.stringify(record)}\n` : '', apply, resolve, reject, compact });
      if (!this.flushRunning) {
        this.flushRunning = true;
        this.flushing = this.flushLoop();
      }
    });
  }

  /** One write and one sync for everything pending, repeated until nothing is. */
  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0);
        const data = Buffer.from(batch.map((w) => w.line).join(''));
        try {
          if (this.broken) throw this.broken;
          if (data.length > 0) {
            await writeFully(this.handle!, data);
            await this.handle!.datasync();
            this.syncs++;
          }
          this.size += data.length;
        } catch (err) {
          await this.recover(err);
          for (const w of batch) w.reject(storeFailed(err));
          continue;
        }
        const compactions: PendingWrite[] = [];
        for (const w of batch) {
          w.apply();
          if (w.compact) compactions.push(w);
          else w.resolve();
        }
        if (compactions.length > 0 || this.size > Math.max(this.minCompactBytes, 2 * this.compactedSize)) {
          try {
            await this.compactNow();
            for (const w of compactions) w.resolve();
          } catch (err) {
            // The journal is intact (compaction only replaces it by rename); try again when it grows.
            this.compactedSize = this.size;
            this.warnings.push(`jobs.log compaction failed: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
            for (const w of compactions) w.reject(storeFailed(err));
          }
        }
      }
    } finally {
      // Cleared in the same turn as the last emptiness check, so no write is ever left behind.
      this.flushRunning = false;
    }
  }

  /** A failed append may have left part of a line: cut the file back to the last whole record. */
  private async recover(err: unknown): Promise<void> {
    try {
      await this.handle!.truncate(this.size);
    } catch {
      this.broken = err instanceof Error ? err : new Error(String(err));
    }
  }

  /** Writes every live job to a temp file, syncs it, renames it over the journal, syncs the folder. */
  private async compactNow(): Promise<void> {
    const tmp = path.join(this.dir, TMP);
    const out = await fs.open(tmp, 'w', 0o600);
    let bytes = 0;
    try {
      let chunk: string[] = [];
      let chunkBytes = 0;
      for (const job of this.jobs.values()) {
        const line = `${JSON.stringify({ t: 'put', job: encodeJob(job) })}\n`;
        chunk.push(line);
        chunkBytes += line.length;
        if (chunkBytes > 1 << 20) {
          bytes += await writeAll(out, chunk);
          chunk = [];
          chunkBytes = 0;
        }
      }
      bytes += await writeAll(out, chunk);
      await out.sync();
    } finally {
      await out.close();
    }
    await fs.rename(tmp, path.join(this.dir, LOG));
    await syncDir(this.dir);
    await this.handle?.close();
    this.handle = await fs.open(path.join(this.dir, LOG), 'a', 0o600);
    this.size = bytes;
    this.compactedSize = bytes;
    this.compactions++;
  }
}

async function writeAll(handle: fs.FileHandle, lines: string[]): Promise<number> {
  if (lines.length === 0) return 0;
  const data = Buffer.from(lines.join(''));
  await writeFully(handle, data);
  return data.length;
}

async function writeFully(handle: fs.FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Rebuilds the jobs from the journal; damaged lines are skipped and reported. */
async function replay(file: string): Promise<{ jobs: Map<string, JobRecord>; warnings: string[] }> {
  const jobs = new Map<string, JobRecord>();
  const warnings: string[] = [];
  let stream;
  try {
    await fs.access(file);
    stream = createReadStream(file, { encoding: 'utf8' });
  } catch {
    return { jobs, warnings };
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    try {
      applyRecord(jobs, JSON.parse(line) as unknown);
    } catch {
      warnings.push(`jobs.log line ${n}: damaged record skipped (torn write or corruption)`);
    }
  }
  return { jobs, warnings };
}

function applyRecord(jobs: Map<string, JobRecord>, value: unknown): void {
  const record = value as { t?: unknown; job?: unknown; id?: unknown; set?: unknown; ids?: unknown };
  switch (record.t) {
    case 'put': {
      const job = decodeJob(record.job);
      jobs.set(job.id, job);
      return;
    }
    case 'upd': {
      if (typeof record.id !== 'string') throw new Error('bad update');
      const patch = decodePatch(record.set);
      const job = jobs.get(record.id);
      if (job) dropInputsIfFinished(Object.assign(job, patch));
      return;
    }
    case 'del':
      if (!Array.isArray(record.ids)) throw new Error('bad delete');
      for (const id of record.ids) if (typeof id === 'string') jobs.delete(id);
      return;
    default:
      throw new Error('unknown record');
  }
}

function storeFailed(err: unknown): ModelMoraError {
  return new ModelMoraError('INTERNAL_ERROR', 'Job store write failed', { cause: err });
}
