import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composeObservers, logObserver } from '../../../src/observability/log-observer.js';
import type { EngineObserver } from '../../../src/scheduler/observer.js';

type Line = { level: 'info' | 'warn'; fields: Record<string, unknown>; msg: string };

function recorder(): { lines: Line[]; log: { info(f: Record<string, unknown>, m: string): void; warn(f: Record<string, unknown>, m: string): void } } {
  const lines: Line[] = [];
  return {
    lines,
    log: {
      info: (fields, msg) => lines.push({ level: 'info', fields, msg }),
      warn: (fields, msg) => lines.push({ level: 'warn', fields, msg }),
    },
  };
}

describe('logObserver', () => {
  it('writes one line per lifecycle event with what an operator needs', () => {
    const { lines, log } = recorder();
    const o = logObserver(log);
    o.modelLoaded?.({ modelId: 'org/a', pid: 11, durationMs: 120, bytes: 1000, restart: false });
    o.runnerDied?.({ modelId: 'org/a', pid: 11, exitCode: null, signal: 'SIGKILL', message: 'killed' });
    o.modelLoaded?.({ modelId: 'org/a', pid: 12, durationMs: 90, bytes: 1000, restart: true });
    o.loadFailed?.({ modelId: 'org/b', errorCode: 'MODEL_LOAD_FAILED', message: 'bad onnx', durationMs: 5 });
    o.modelUnloaded?.({ modelId: 'org/a', pid: 12, bytes: 1000, reason: 'memory' });
    assert.deepEqual(lines, [
      { level: 'info', msg: 'model loaded', fields: { model_id: 'org/a', runner_pid: 11, duration_ms: 120, bytes: 1000, restart: false } },
      { level: 'warn', msg: 'runner died', fields: { model_id: 'org/a', runner_pid: 11, exit_code: null, signal: 'SIGKILL', message: 'killed' } },
      { level: 'info', msg: 'model restarted', fields: { model_id: 'org/a', runner_pid: 12, duration_ms: 90, bytes: 1000, restart: true } },
      { level: 'warn', msg: 'model load failed', fields: { model_id: 'org/b', error_code: 'MODEL_LOAD_FAILED', message: 'bad onnx', duration_ms: 5 } },
      { level: 'info', msg: 'model unloaded', fields: { model_id: 'org/a', reason: 'memory', runner_pid: 12, bytes: 1000 } },
    ]);
  });
});

describe('composeObservers', () => {
  it('hands each event to every observer, even after one throws', () => {
    const seen: string[] = [];
    const throwing: EngineObserver = { loadedCount: () => { throw new Error('bug'); } };
    const a: EngineObserver = { loadedCount: (n) => seen.push(`a${n}`) };
    const b: EngineObserver = { loadedCount: (n) => seen.push(`b${n}`), modelMemory: (id, bytes) => seen.push(`${id}=${bytes}`) };
    const o = composeObservers(throwing, a, b);
    o.loadedCount?.(2);
    o.modelMemory?.('org/x', 7);
    assert.deepEqual(seen, ['a2', 'b2', 'org/x=7']);
    assert.equal(o.batchRun, undefined, 'no observer had it');
  });
});
