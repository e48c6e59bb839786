import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { systemClock, type Clock, type Timer } from '../domain/clock.js';
import { ModelMoraError } from '../domain/errors.js';

/**
 * Generated files too large to answer inline (txt2img PNGs), kept under
 * `<home>/artifacts/<uuid>.png` and served by GET /api/v1/artifacts/{id}. They live as long as
 * job results (`job_retention`, by file age) and are pruned on a timer. The id is a random
 * uuid, so it is the only name that reaches the filesystem: nothing from a request is joined
 * into a path.
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isArtifactId(value: string): boolean {
  return UUID.test(value);
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

  /** Stores a PNG and returns its id. Written to a temp name first: never a torn file under the id. */
  async putPng(bytes: Uint8Array): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const id = randomUUID();
    const file = this.file(id);
    await writeFile(`${file}.tmp`, bytes);
    await rename(`${file}.tmp`, file);
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
      if (!/\.png(\.tmp)?$/.test(entry)) continue;
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
