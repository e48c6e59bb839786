import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from '../domain/process-alive.js';

/**
 * The pid file a running daemon writes under its home (`<home>/daemon.pid`): the daemon takes
 * it as its lock (daemon/pid-lock.ts); the client and the CLI read it to find the daemon. One
 * format, declared here, so the client needs nothing from the daemon's modules.
 */

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

export const DAEMON_RECORD_FILE = 'daemon.pid';

/** The record of the daemon serving `home`, if one is alive. */
export function runningDaemon(home: string): DaemonRecord | undefined {
  const record = readDaemonRecord(path.join(home, DAEMON_RECORD_FILE));
  return record?.port !== undefined && isAlive(record.pid) ? (record as DaemonRecord) : undefined;
}

/** The file's record as far as it is written (the lock holds only the pid until the daemon listens). */
export function readDaemonRecord(file: string): (Partial<DaemonRecord> & { pid: number }) | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown };
    return typeof value.pid === 'number' ? (value as Partial<DaemonRecord> & { pid: number }) : undefined;
  } catch {
    return undefined;
  }
}
