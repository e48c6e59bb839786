import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * A fixture folder as the test hub serves it: every file in memory with the hashes the real
 * Hub reports (git blob sha1 as `oid`, sha256 as the LFS oid), and a commit that is a stable
 * hash of the contents, so changing a file gives a new commit.
 */

export interface HubFile {
  path: string;
  bytes: Buffer;
  sha256: string;
  gitSha1: string;
  lfs: boolean;
}

/** One entry of /api/models/{repo}/tree and /paths-info, shaped like the Hub's answer. */
export interface TreeEntry {
  type: 'file' | 'directory';
  oid: string;
  size: number;
  path: string;
  lfs?: { oid: string; size: number; pointerSize: number };
}

export interface RepoCommit {
  commit: string;
  files: Map<string, HubFile>;
}

/** By default files of 64 KiB and more are LFS files, like weights; small json stays in git. */
export const defaultLfs = (_path: string, size: number): boolean => size >= 64 * 1024;

export async function loadFolder(folder: string, lfs: (path: string, size: number) => boolean = defaultLfs): Promise<RepoCommit> {
  const files = new Map<string, HubFile>();
  const walk = async (dir: string, prefix: string) => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path.join(dir, entry.name), rel);
      else if (entry.isFile()) {
        const bytes = await fs.readFile(path.join(dir, entry.name));
        files.set(rel, {
          path: rel,
          bytes,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          gitSha1: createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex'),
          lfs: lfs(rel, bytes.length),
        });
      }
    }
  };
  await walk(folder, '');
  const hash = createHash('sha1');
  for (const f of [...files.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) hash.update(`${f.path}\n${f.sha256}\n`);
  return { commit: hash.digest('hex'), files };
}

/** Files and their folders, as the tree API lists them; `under` limits to a folder. */
export function treeEntries(repo: RepoCommit, under: string, recursive: boolean): TreeEntry[] {
  const prefix = under === '' ? '' : `${under.replace(/\/$/, '')}/`;
  const out = new Map<string, TreeEntry>();
  for (const f of repo.files.values()) {
    if (!f.path.startsWith(prefix)) continue;
    const rest = f.path.slice(prefix.length).split('/');
    for (let depth = 1; depth < rest.length; depth++) {
      if (!recursive && depth > 1) break;
      const dir = prefix + rest.slice(0, depth).join('/');
      out.set(dir, { type: 'directory', oid: createHash('sha1').update(dir).digest('hex'), size: 0, path: dir });
    }
    if (!recursive && rest.length > 1) continue;
    out.set(f.path, fileEntry(f));
  }
  return [...out.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
}

export function fileEntry(f: HubFile): TreeEntry {
  return {
    type: 'file',
    oid: f.gitSha1,
    size: f.bytes.length,
    path: f.path,
    ...(f.lfs ? { lfs: { oid: f.sha256, size: f.bytes.length, pointerSize: 134 } } : {}),
  };
}
