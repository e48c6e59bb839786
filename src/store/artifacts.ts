import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { systemClock, type Clock, type Timer } from '../domain/clock.js';
import { ModelMoraError } from '../domain/errors.js';
import { isUuid } from '../domain/uuid.js';

/**
 * Generated files too large to answer inline (txt2img PNGs), kept under
 * `<home>/artifacts/<uuid>.png` and served by GET /api/v1/artifacts/{id}. They live as long as
 * job results (`job_retention`, by file age) and are pruned on a timer. The id is a uuid made
 * from the bytes' sha256, so storing the same image twice (a job result fetched again, the
 * same seed) gives the same URL and one file, and nothing from a request is joined into a path
 * unless it is a well-formed uuid.
 */

export interface ArtifactStoreOptions {
  /** The artifacts folder, e.g. <home>/artifacts. */
  dir: string;
  /** Milliseconds an artifact is kept; -1 keeps them forever. */
  retentionMs: number;
  clock?: Clock;
  /** How often the timer prunes; default a tenth of the retention, between 1 minute and 1 hour. */
  pruneEveryMs?: number;
}

export interface Artifact {
  id: string;
  bytes: Buffer;
  contentType: 'image/png';
}

export function isArtifactId(value: string): boolean {
  // Lowercase only: ids are written lowercase, and one spelling per file keeps lookups exact.
  return isUuid(value) && value === value.toLowerCase();
}

/** sha256 of the bytes shaped as a uuid (version 8: custom, RFC 9562 variant). */
function contentId(bytes: Uint8Array): string {
  const hex = createHash('sha256').update(bytes).digest('hex').slice(0, 32).split('');
  hex[12] = '8';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class ArtifactStore {
  private readonly dir: string;
  private readonly retentionMs: number;
  private readonly clock: Clock;
  private readonly pruneEveryMs: number;
  private timer: Timer | undefined;
  private stopped = false;

  constructor(options: ArtifactStoreOptions) {
    this.dir = options.dir;
    this.retentionMs = options.retentionMs;
    this.clock = options.clock ?? systemClock;
    this.pruneEveryMs = options.pruneEveryMs ?? Math.min(3_600_000, Math.max(60_000, Math.round(options.retentionMs / 10)));
  }

  /**
   * Stores a PNG and returns its id. Written to a unique temp name, then renamed: never a torn
   * file under the id. An existing copy is only touched, which restarts its retention.
   */
  async putPng(bytes: Uint8Array): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const id = contentId(bytes);
    const file = this.file(id);
    const now = new Date(this.clock.now());
    try {
      await utimes(file, now, now);
      return id;
    } catch {
      // Not stored yet.
    }
    const temp = `${file}.${randomUUID()}.tmp`;
    await writeFile(temp, bytes);
    await rename(temp, file);
    return id;
  }

  /** NOT_FOUND for a malformed id, an unknown one or one past its retention. */
  async get(id: string): Promise<Artifact> {
    const missing = () => new ModelMoraError('NOT_FOUND', `Artifact '${isArtifactId(id) ? id : '?'}' not found`);
    if (!isArtifactId(id)) throw missing();
    try {
      const file = this.file(id);
      if (this.expired((await stat(file)).mtimeMs)) throw missing();
      return { id, bytes: await readFile(file), contentType: 'image/png' };
    } catch (err) {
      if (err instanceof ModelMoraError) throw err;
      throw missing();
    }
  }

  /** Deletes artifacts past their retention (and stale temp files); returns how many went. */
  async prune(): Promise<number> {
    if (this.retentionMs < 0) return 0;
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const entry of entries) {
      if (!/\.png(\.[0-9a-f-]+\.tmp)?$/.test(entry)) continue;
      const file = path.join(this.dir, entry);
      try {
        if (this.expired((await stat(file)).mtimeMs)) {
          await rm(file, { force: true });
          removed++;
        }
      } catch {
        // Removed meanwhile (another prune, a user): nothing to do.
      }
    }
    return removed;
  }

  /** Prunes now and then every pruneEveryMs, on an unref'd timer (an idle daemon can still exit). */
  start(onError: (err: unknown) => void = () => {}): void {
    this.stopped = false;
    const tick = () => {
      this.prune()
        .catch(onError)
        .finally(() => {
          if (!this.stopped) this.timer = this.clock.setTimer(tick, this.pruneEveryMs, { unref: true });
        });
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private expired(mtimeMs: number): boolean {
    return this.retentionMs >= 0 && this.clock.now() - mtimeMs > this.retentionMs;
  }

  private file(id: string): string {
    return path.join(this.dir, `${id}.png`);
  }
}
