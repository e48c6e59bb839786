import path from 'node:path';
import { ModelMoraError } from '../domain/errors.js';
import type { Snapshot, SourceFile } from './source.js';

/**
 * Checks for everything that arrives from a server, a lock file or a folder walk before it
 * names a file on disk. A Hub (or a tampered lock) could list `../../.bashrc`; these checks
 * make such input an error, and nothing is written.
 */

const SHA256 = /^[0-9a-f]{64}$/;
const COMMIT = /^[0-9a-f]{40}$/;
/** Anything a Windows or POSIX filesystem could read as more than a plain name. */
const BAD_SEGMENT = /[\u0000-\u001f\\:*?"<>|]/;

function refuse(what: string, value: unknown): ModelMoraError {
  return new ModelMoraError('DOWNLOAD_FAILED', `Refused ${what} '${printable(value)}' from the model source`);
}

export function checkSha256(value: unknown): string {
  if (typeof value !== 'string' || !SHA256.test(value)) throw refuse('sha256 (expected 64 lowercase hex digits)', value);
  return value;
}

export function checkCommit(value: unknown): string {
  if (typeof value !== 'string' || !COMMIT.test(value)) throw refuse('commit (expected 40 lowercase hex digits)', value);
  return value;
}

export function checkSize(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw refuse('file size', value);
  return value;
}

/** A relative POSIX path whose every segment is a plain name: no '', '.', '..', NUL, backslash. */
export function checkRepoPath(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) throw refuse('file path', value);
  if (value.startsWith('/') || /^[A-Za-z]:/.test(value)) throw refuse('absolute file path', value);
  for (const segment of value.split('/')) {
    if (segment === '' || segment === '.' || segment === '..' || BAD_SEGMENT.test(segment) || segment.length > 255) {
      throw refuse('file path', value);
    }
  }
  return value;
}

/** Joins a checked repo path under `root` and proves the result stays inside it. */
export function pathInside(root: string, repoPath: string): string {
  const full = path.resolve(root, ...checkRepoPath(repoPath).split('/'));
  const rel = path.relative(path.resolve(root), full);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw refuse('file path', repoPath);
  return full;
}

/** A revision name as stored under refs/: a branch, tag or commit, never a path escape. */
export function checkRevision(value: unknown): string {
  if (typeof value !== 'string' || value.length > 255 || !/^[A-Za-z0-9][A-Za-z0-9._\-/]*$/.test(value)) {
    throw new ModelMoraError('VALIDATION_ERROR', `Invalid revision '${printable(value)}'`);
  }
  checkRepoPath(value);
  return value;
}

/** Checks a whole snapshot (e.g. one read back from modelmora.lock): commit, paths, sizes, hashes, no duplicates. */
export function checkSnapshot(snapshot: Snapshot): Snapshot {
  checkCommit(snapshot.commit);
  const seen = new Set<string>();
  const files: SourceFile[] = [];
  for (const file of snapshot.files) {
    const p = checkRepoPath(file.path);
    // Case-folded so `A.bin` and `a.bin` cannot fight over one name on macOS or Windows.
    const key = p.toLowerCase();
    if (seen.has(key)) throw refuse('duplicate file path', p);
    seen.add(key);
    files.push({ path: p, size: checkSize(file.size), sha256: checkSha256(file.sha256) });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // `a` as a file and `a/b` as another file cannot both exist on disk.
  for (const file of files) {
    const parts = file.path.toLowerCase().split('/');
    for (let i = 1; i < parts.length; i++) {
      if (seen.has(parts.slice(0, i).join('/'))) throw refuse('file path under another file', file.path);
    }
  }
  return { commit: snapshot.commit, files };
}

/** Keeps error messages on one short plain line, whatever bytes the server sent. */
export function printable(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean;
}
