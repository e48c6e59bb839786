import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { OpenedFile } from './source.js';

/**
 * Bytes a source had to download only to learn their sha256 (a small non-LFS hub file, a
 * source_url file). Kept on disk by sha256 so the pull that follows reads them locally instead
 * of fetching them again.
 */
export class Spool {
  private readonly kept = new Map<string, string>();
  private dir: Promise<string> | undefined;

  constructor(private readonly root?: string) {}

  /** Streams `body` into the spool; returns its size, sha256 and (when asked) git blob sha1. */
  async keep(body: AsyncIterable<Uint8Array>, opts: { gitSize?: number } = {}): Promise<{ size: number; sha256: string; gitSha1?: string }> {
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
    const final = path.join(dir, digest);
    await fs.rename(temp, final);
    this.kept.set(digest, final);
    return { size, sha256: digest, ...(sha1 ? { gitSha1: sha1.digest('hex') } : {}) };
  }

  /** Streams a kept file from `offset`, or null when nothing (of that size) is kept. Removed once read through. */
  async open(sha256: string, size: number, offset: number): Promise<OpenedFile | null> {
    const file = this.kept.get(sha256);
    if (file === undefined) return null;
    const stat = await fs.stat(file).catch(() => null);
    if (!stat || stat.size !== size) return null;
    const kept = this.kept;
    async function* body(): AsyncIterable<Uint8Array> {
      if (offset < size) yield* createReadStream(file!, { start: offset }) as AsyncIterable<Uint8Array>;
      kept.delete(sha256);
      await fs.rm(file!, { force: true });
    }
    return { offset, body: body() };
  }

  /** Created on first use (one promise, so concurrent callers wait for the same mkdir). */
  private folder(): Promise<string> {
    this.dir ??= (async () => {
      if (this.root === undefined) return fs.mkdtemp(path.join(os.tmpdir(), 'modelmora-spool-'));
      await fs.mkdir(this.root, { recursive: true });
      return this.root;
    })();
    return this.dir;
  }
}
