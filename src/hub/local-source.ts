import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ModelMoraError } from '../domain/errors.js';
import { contentCommit } from './content-commit.js';
import { fileFilter } from './file-patterns.js';
import { hashFile } from './hash-file.js';
import { checkRepoPath, checkSnapshot, pathInside, printable } from './snapshot-check.js';
import type { ModelSource, OpenedFile, Snapshot, SourceFile } from './source.js';

/**
 * A model folder on disk (`source: ./path`), for air-gapped machines. Dotfiles and dot-folders
 * are skipped (.git, .cache); a symlink may point anywhere inside the folder, never outside it.
 */
export function createLocalSource(folder: string, baseDir: string): ModelSource {
  return new LocalSource(folder, path.resolve(baseDir, folder));
}

const MAX_FILES = 100_000;

class LocalSource implements ModelSource {
  readonly kind = 'local' as const;

  constructor(
    readonly location: string,
    private readonly root: string,
  ) {}

  async resolve(_revision: string, patterns?: readonly string[]): Promise<Snapshot> {
    const realRoot = await this.realRoot();
    const keep = fileFilter(patterns);
    const files: SourceFile[] = [];
    for (const rel of await this.walk(realRoot)) {
      if (!keep(rel)) continue;
      files.push({ path: rel, ...(await hashFile(pathInside(this.root, rel))) });
    }
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return checkSnapshot({ commit: contentCommit(files), files });
  }

  async open(_commit: string, file: SourceFile, offset: number): Promise<OpenedFile> {
    const realRoot = await this.realRoot();
    const full = await this.inside(realRoot, pathInside(this.root, file.path), file.path);
    return { offset, body: createReadStream(full, { start: offset }) as AsyncIterable<Uint8Array> };
  }

  /** Error messages never carry an absolute path: an absolute location shows as its last folder name. */
  private shownName(): string {
    return path.isAbsolute(this.location) ? `.../${path.basename(this.location)}` : this.location;
  }

  private async realRoot(): Promise<string> {
    try {
      const real = await fs.realpath(this.root);
      if (!(await fs.stat(real)).isDirectory()) throw new Error('not a folder');
      return real;
    } catch {
      throw new ModelMoraError('DOWNLOAD_FAILED', `Local source folder '${printable(this.shownName())}' does not exist or is not a folder`);
    }
  }

  /** The real path of `full`, refused when a symlink leads out of the folder. */
  private async inside(realRoot: string, full: string, rel: string): Promise<string> {
    const real = await fs.realpath(full).catch(() => {
      throw new ModelMoraError('DOWNLOAD_FAILED', `Local source file '${printable(rel)}' is missing`);
    });
    const back = path.relative(realRoot, real);
    if (back.startsWith('..') || path.isAbsolute(back)) {
      throw new ModelMoraError('DOWNLOAD_FAILED', `Local source file '${printable(rel)}' is a symlink leading outside the folder`);
    }
    return real;
  }

  /** Relative POSIX paths of every regular file, following symlinks that stay inside. */
  private async walk(realRoot: string): Promise<string[]> {
    const out: string[] = [];
    const seenDirs = new Set<string>([realRoot]);
    const pending: string[] = [''];
    while (pending.length > 0) {
      const dirRel = pending.pop()!;
      const entries = await fs.readdir(dirRel === '' ? this.root : pathInside(this.root, dirRel), { withFileTypes: true });
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const rel = checkRepoPath(dirRel === '' ? entry.name : `${dirRel}/${entry.name}`);
        let isDir = entry.isDirectory();
        let isFile = entry.isFile();
        if (entry.isSymbolicLink()) {
          const real = await this.inside(realRoot, pathInside(this.root, rel), rel);
          const stat = await fs.stat(real);
          isDir = stat.isDirectory();
          isFile = stat.isFile();
          if (isDir && seenDirs.has(real)) continue; // a loop
          if (isDir) seenDirs.add(real);
        }
        if (isDir) pending.push(rel);
        else if (isFile) out.push(rel);
        if (out.length > MAX_FILES) throw new ModelMoraError('DOWNLOAD_FAILED', `Local source folder '${printable(this.shownName())}' holds more than ${MAX_FILES} files`);
      }
    }
    return out;
  }
}
