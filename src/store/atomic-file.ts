import { constants as fsConstants } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Adapter } from 'lowdb';
import { ModelMoraError } from '../domain/errors.js';

/**
 * A lowdb adapter that never leaves a half-written file under the real name, and keeps a
 * last-good copy next to it.
 *
 * A write goes to `<file>.tmp`, is fsynced, renamed over `<file>`, and the folder is fsynced so
 * the rename itself survives a power cut; then the same bytes are written the same way to
 * `<file>.bak`. A crash at any point leaves `<file>` either old or new, never torn. If `<file>`
 * is later found unreadable (disk trouble, a bad hand edit), `read()` falls back to `.bak`,
 * keeps the bad file as `<file>.corrupt` for inspection, and records a warning for the caller
 * to log. Writes are serialised: each starts after the previous one finished.
 */
export class AtomicJsonFile<T> implements Adapter<T> {
  /** Human-readable notes about recoveries made by read(); the daemon logs them. */
  readonly warnings: string[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly validate: (data: unknown) => data is T = (_data: unknown): _data is T => true,
  ) {}

  async read(): Promise<T | null> {
    const name = path.basename(this.file);
    const main = await this.load(this.file);
    if (main.kind === 'ok') return main.data;
    const backup = await this.load(`${this.file}.bak`);
    if (main.kind === 'missing') {
      if (backup.kind !== 'ok') return null;
      this.warnings.push(`${name} was missing; restored the last good copy from ${name}.bak`);
      return backup.data;
    }
    // The main file exists but is unreadable.
    await copyFile(this.file, `${this.file}.corrupt`).catch(() => undefined);
    if (backup.kind === 'ok') {
      this.warnings.push(
        `${name} was unreadable (${main.reason}); using the last good copy from ${name}.bak, the bad file is kept as ${name}.corrupt`,
      );
      return backup.data;
    }
    // Both unreadable: refusing to start beats silently starting empty.
    throw new ModelMoraError(
      'INTERNAL_ERROR',
      `${name} and ${name}.bak are both unreadable (${main.reason}); move them aside to start with an empty registry`,
    );
  }

  write(data: T): Promise<void> {
    const text = `${JSON.stringify(data, null, 2)}\n`;
    const run = this.queue.then(async () => {
      await writeAtomic(this.file, text);
      await writeAtomic(`${this.file}.bak`, text);
    });
    // Keep the chain alive after a failed write; the caller still sees the failure.
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async load(file: string): Promise<{ kind: 'ok'; data: T } | { kind: 'missing' } | { kind: 'bad'; reason: string }> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      return { kind: 'bad', reason: `cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return { kind: 'bad', reason: 'not valid JSON' };
    }
    if (!this.validate(data)) return { kind: 'bad', reason: 'unexpected content' };
    return { kind: 'ok', data };
  }
}

/** temp + fsync + rename + fsync(dir). */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC, 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await rename(tmp, file);
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  // Windows cannot open a folder for fsync; the rename is still atomic there.
  if (process.platform === 'win32') return;
  const handle = await open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
