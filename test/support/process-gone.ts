import { readFileSync } from 'node:fs';

/** Whether the process is gone: no such pid, or a zombie (it answers kill(0) until reaped, holding nothing). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}
