import type { EngineObserver } from '../scheduler/observer.js';

/**
 * The engine's residency events as one structured log line each. src/metrics/ holds what is
 * scraped (Prometheus); this folder holds what the operator reads, so each folder keeps one
 * noun. Only lifecycle events are logged: per-request events would flood the log.
 */
/** The part of the daemon's pino logger this observer writes to. */
export interface LifecycleLog {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

export function logObserver(log: LifecycleLog): EngineObserver {
  return {
    modelLoaded: (e) =>
      log.info({ model_id: e.modelId, runner_pid: e.pid ?? null, duration_ms: e.durationMs, bytes: e.bytes, restart: e.restart }, e.restart ? 'model restarted' : 'model loaded'),
    loadFailed: (e) => log.warn({ model_id: e.modelId, error_code: e.errorCode, message: e.message, duration_ms: e.durationMs }, 'model load failed'),
    modelUnloaded: (e) => log.info({ model_id: e.modelId, reason: e.reason, runner_pid: e.pid ?? null, bytes: e.bytes }, 'model unloaded'),
    runnerDied: (e) =>
      log.warn({ model_id: e.modelId, runner_pid: e.pid ?? null, exit_code: e.exitCode, signal: e.signal, message: e.message }, 'runner died'),
  };
}

/**
 * One observer that hands every event to each of `observers` in turn. Each call is isolated, so
 * a throwing observer (which notify() would swallow whole) cannot keep the others from the event.
 */
export function composeObservers(...observers: EngineObserver[]): EngineObserver {
  const keys = new Set(observers.flatMap((o) => Object.keys(o) as Array<keyof EngineObserver>));
  const composed: Record<string, (...args: unknown[]) => void> = {};
  for (const key of keys) {
    composed[key] = (...args: unknown[]) => {
      for (const observer of observers) {
        const fn = observer[key] as ((...a: unknown[]) => void) | undefined;
        try {
          fn?.apply(observer, args);
        } catch {
          // One observer's bug must not hide the event from the others.
        }
      }
    };
  }
  return composed as EngineObserver;
}
