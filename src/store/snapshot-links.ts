import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathInside } from '../hub/snapshot-check.js';

/**
 * `snapshots/<commit>/<path>` entries, as the Hugging Face cache writes them: a relative
 * symlink to `../../blobs/<sha256>` (one more `../` per folder in the path), so the cache can
 * be moved or mounted elsewhere. Where symlinks are not allowed (Windows without developer
 * mode) the blob is copied instead, as huggingface_hub does.
 */
export async function linkFile(snapshotDir: string, blobPath: string, repoPath: string): Promise<void> {
  const target = pathInside(snapshotDir, repoPath);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const relative = path.relative(path.dirname(target), blobPath);
  const current = await fs.readlink(target).catch(() => null);
  if (current === relative) return;
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.symlink(relative, temp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EACCES') throw err;
    await fs.copyFile(blobPath, temp);
  }
  // rename over an existing entry is atomic: a reader sees the old file or the new one.
  await fs.rename(temp, target);
}

/** Writes `refs/<revision>` = commit, atomically. */
export async function writeRef(modelDir: string, revision: string, commit: string): Promise<void> {
  const file = pathInside(path.join(modelDir, 'refs'), revision);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(temp, commit);
  await fs.rename(temp, file);
}
