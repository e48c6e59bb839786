import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelMoraError } from '../domain/errors.js';
import { isAlive } from '../store/blob-lock.js';

/** What a running daemon records under its home, for `serve --detach`, `stop` and `ps`. */
export interface DaemonRecord {
  pid: number;
  host: string;
  port: number;
  grpc_port: number;
  started_at: string;
  /** REST and gRPC speak TLS (https). */
  tls?: boolean;
}

const LOCK = 'daemon.pid';

/**
 * One writer per home: the registry and the job store assume a single daemon. The lock is a
 * file created with O_EXCL holding the pid; a lock whose pid is gone is stale and taken over.
 */
export class PidLock {
  private constructor(private readonly file: string) {}

  static acquire(home: string): PidLock {
    mkdirSync(home, { recursive: true });
    const file = path.join(home, LOCK);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        writeFileSync(file, JSON.stringify({ pid: process.pid }), { flag: 'wx' });
        return new PidLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = readRecord(home);
        if (holder && isAlive(holder.pid)) {
          throw new ModelMoraError(
            'SERVICE_UNAVAILABLE',
            `Another ModelMora daemon (pid ${holder.pid}) is already using this home; stop it with \`modelmora stop\``,
            { details: { pid: holder.pid } },
          );
        }
        rmSync(file, { force: true });
      }
    }
    throw new ModelMoraError('SERVICE_UNAVAILABLE', 'Could not take the daemon lock of this home');
  }

  /** Adds the listening addresses once they are known. */
  publish(record: DaemonRecord): void {
    writeFileSync(this.file, JSON.stringify(record));
  }

  release(): void {
    const holder = safeParse(this.file);
    if (holder?.pid === process.pid) rmSync(this.file, { force: true });
  }
}

/** The record of the daemon serving `home`, if one is alive. */
export function runningDaemon(home: string): DaemonRecord | undefined {
  const record = readRecord(home);
  return record?.port !== undefined && isAlive(record.pid) ? (record as DaemonRecord) : undefined;
}

function readRecord(home: string): Partial<DaemonRecord> & { pid: number } | undefined {
  return safeParse(path.join(home, LOCK));
}

function safeParse(file: string): (Partial<DaemonRecord> & { pid: number }) | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown };
    return typeof value.pid === 'number' ? (value as Partial<DaemonRecord> & { pid: number }) : undefined;
  } catch {
    return undefined;
  }
}
