import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Document } from 'yaml';
import { ModelMoraError } from '../domain/errors.js';
import { LOCK_FILE, parseLock, serializeLock, type LockFile } from './lockfile.js';
import { manifestFromDocument, parseManifestDocument, type Manifest } from './manifest.js';

/**
 * A project on disk: modelmora.yaml and, next to it, modelmora.lock. Labels in messages are
 * the file names, never the absolute paths.
 */
export interface Project {
  dir: string;
  manifestPath: string;
  lockPath: string;
  manifestLabel: string;
  doc: Document;
  manifest: Manifest;
  lock: LockFile | undefined;
  /** The lock's bytes as read, to skip rewriting an unchanged lock. */
  lockText: string | undefined;
}

export async function openProject(manifestPath: string): Promise<Project> {
  const full = path.resolve(manifestPath);
  const label = path.basename(full);
  const text = await readOptional(full);
  if (text === undefined) {
    throw new ModelMoraError('NOT_FOUND', `${label} not found in this folder (run modelmora init, or pass --config)`);
  }
  const doc = parseManifestDocument(text, label);
  const manifest = manifestFromDocument(doc, label);
  const dir = path.dirname(full);
  const lockPath = path.join(dir, LOCK_FILE);
  const lockText = await readOptional(lockPath);
  const lock = lockText === undefined ? undefined : parseLock(lockText);
  return { dir, manifestPath: full, lockPath, manifestLabel: label, doc, manifest, lock, lockText };
}

export async function saveManifest(project: Project): Promise<void> {
  await writeAtomic(project.manifestPath, project.doc.toString());
}

/** Writes the lock only when its bytes change; returns whether it did. */
export async function saveLock(project: Project, lock: LockFile): Promise<boolean> {
  const text = serializeLock(lock);
  project.lock = lock;
  if (text === project.lockText) return false;
  await writeAtomic(project.lockPath, text);
  project.lockText = text;
  return true;
}

/** Temp file + fsync + rename, so a crash never leaves half a yaml or lock behind. */
export async function writeAtomic(file: string, text: string, options: { exclusive?: boolean } = {}): Promise<void> {
  if (options.exclusive) {
    // `init` must not overwrite: the link fails if the name exists, even in a race.
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeSynced(tmp, text);
    try {
      await fs.link(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new ModelMoraError('VALIDATION_ERROR', `${path.basename(file)} already exists; not overwriting it`);
      }
      throw err;
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return;
  }
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeSynced(tmp, text);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

async function writeSynced(file: string, text: string): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
