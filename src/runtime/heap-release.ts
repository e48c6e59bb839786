import { Session } from 'node:inspector';

/**
 * One memory-reducing full GC of this process: V8 collects all available garbage as on a
 * low-memory notification, which, unlike global.gc(), also shrinks the young generation and
 * gives V8's pooled pages back, so the RSS falls. Reached through an in-process inspector
 * session (HeapProfiler.collectGarbage): no port is opened. The session is closed after the
 * answer, outside the answer's callback: closing it inside made process.exit hang (Node 20).
 */
export function releaseHeapMemory(): Promise<void> {
  return new Promise((resolve, reject) => {
    const session = new Session();
    session.connect();
    session.post('HeapProfiler.collectGarbage', (err) => {
      setImmediate(() => session.disconnect());
      if (err) reject(err);
      else resolve();
    });
  });
}
