import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { OpenedFile } from './source.js';

/**
 * Bytes a source had to download only to learn their sha256 (a small non-LFS hub file, a
 * source_url file). Kept on disk under their sha256 so the pull that follows (in this process,
 * or a later `pull` after a `lock`) reads them locally instead of fetching them again. The store
 * re-verifies every byte, so a file found here is trusted no more than one from the network.
 */

/** Spooled files nobody pulled (a `lock` without a `pull`) are swept after this long. */
const MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** Without a spool folder, files up to this size are kept in memory; larger ones are fetched again. */
const MEMORY_LIMIT = 16 * 1024 * 1024;

export class Spool {
  private dir: Promise<string> | undefined;
  private readonly memory = new Map<string, Buffer>();

  /** `root` undefined: keep small files in memory only (nothing left on disk). */
  constructor(private readonly root?: string) {}

  /** Streams `body` into the spool; returns its size, sha256 and (when asked) git blob sha1. */
  async keep(body: AsyncIterable<Uint8Array>, opts: { gitSize?: number } = {}): Promise<{ size: number; sha256: string; gitSha1?: string }> {
    if (this.root === undefined) return this.keepInMemory(body, opts);
    const dir = await this.folder();
    const temp = path.join(dir, `${randomBytes(8).toString('hex')}.tmp`);
    const sha256 = createHash('sha256');
    // Git names a blob by sha1("blob <size>\0" + bytes): checking it proves the bytes are the listed ones.
    const sha1 = opts.gitSize === undefined ? undefined : createHash('sha1').update(`blob ${opts.gitSize}\0`);
    let size = 0;
    const fh = await fs.open(temp, 'w');
    try {
      for await (const chunk of body) {
        await fh.write(chunk);
        sha256.update(chunk);
        sha1?.update(chunk);
        size += chunk.length;
      }
      await fh.close();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await fs.rm(temp, { force: true });
      throw err;
    }
    const digest = sha256.digest('hex');
    await fs.rename(temp, path.join(dir, digest));
    return { size, sha256: digest, ...(sha1 ? { gitSha1: sha1.digest('hex') } : {}) };
  }

  /** Streams a kept file from `offset`, or null when none of that size is kept. Removed once read through. */
  async open(sha256: string, size: number, offset: number): Promise<OpenedFile | null> {
    const held = this.memory.get(sha256);
    if (held && held.length === size) {
      const memory = this.memory;
      return {
        offset,
        body: (async function* () {
          if (offset < size) yield held.subarray(offset);
          memory.delete(sha256);
        })(),
      };
    }
    if (this.root === undefined || !/^[0-9a-f]{64}$/.test(sha256)) return null;
    const file = path.join(await this.folder(), sha256);
    const stat = await fs.stat(file).catch(() => null);
    if (!stat?.isFile() || stat.size !== size) return null;
    async function* body(): AsyncIterable<Uint8Array> {
      if (offset < size) yield* createReadStream(file, { start: offset }) as AsyncIterable<Uint8Array>;
      await fs.rm(file, { force: true });
    }
    return { offset, body: body() };
  }

  private async keepInMemory(body: AsyncIterable<Uint8Array>, opts: { gitSize?: number }): Promise<{ size: number; sha256: string; gitSha1?: string }> {
    const sha256 = createHash('sha256');
    const sha1 = opts.gitSize === undefined ? undefined : createHash('sha1').update(`blob ${opts.gitSize}\0`);
    let chunks: Buffer[] | null = [];
    let size = 0;
    for await (const chunk of body) {
      sha256.update(chunk);
      sha1?.update(chunk);
      size += chunk.length;
      if (chunks && size <= MEMORY_LIMIT) chunks.push(Buffer.from(chunk));
      else chunks = null;
    }
    const digest = sha256.digest('hex');
    if (chunks) this.memory.set(digest, Buffer.concat(chunks, size));
    return { size, sha256: digest, ...(sha1 ? { gitSha1: sha1.digest('hex') } : {}) };
  }

  /** Created on first use (one promise, so concurrent callers wait for the same mkdir). */
  private folder(): Promise<string> {
    const root = this.root!;
    this.dir ??= (async () => {
      await fs.mkdir(root, { recursive: true });
      await sweep(root);
      return root;
    })();
    return this.dir;
  }
}

async function sweep(dir: string): Promise<void> {
  const now = Date.now();
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const file = path.join(dir, name);
    const stat = await fs.stat(file).catch(() => null);
    if (stat?.isFile() && now - stat.mtimeMs > MAX_AGE_MS) await fs.rm(file, { force: true });
  }
}
