import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelMoraError } from '../domain/errors.js';
import { DAEMON_RECORD_FILE, readDaemonRecord, type DaemonRecord } from '../config/daemon-record.js';
import { isAlive } from '../domain/process-alive.js';

/**
 * One writer per home: the registry and the job store assume a single daemon. The lock is a
 * file created with O_EXCL holding the pid; a lock whose pid is gone is stale and taken over.
 */
export class PidLock {
  private constructor(private readonly file: string) {}

  static acquire(home: string): PidLock {
    mkdirSync(home, { recursive: true });
    const file = path.join(home, DAEMON_RECORD_FILE);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        writeFileSync(file, JSON.stringify({ pid: process.pid }), { flag: 'wx' });
        return new PidLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = readDaemonRecord(file);
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
    const holder = readDaemonRecord(this.file);
    if (holder?.pid === process.pid) rmSync(this.file, { force: true });
  }
}
