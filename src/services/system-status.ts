import os from 'node:os';
import type { Engine, ModelStatus, QueueDepth } from '../domain/engine.js';

/**
 * The system status (API document §2.6.3) and model health (§2.7) as REST `/status`,
 * `/health/models` and gRPC GetSystemStatus, GetModelHealth report them: built once here.
 */

export interface SystemStatusDeps {
  engine: Engine;
  version: string;
  startedAt: Date;
  now: () => Date;
  systemMemory: () => { total_mb: number; free_mb: number };
}

export interface SystemStatusBody {
  version: string;
  uptime_seconds: number;
  memory: { total_mb: number; used_mb: number; available_mb: number; threshold_mb: number };
  gpu: { available: boolean; devices: Array<{ device_id: number; name: string; memory_total_mb: number; memory_used_mb: number }> };
  loaded_models: ModelStatus[];
  queue_depth: QueueDepth;
}

export function systemStatus(deps: SystemStatusDeps): SystemStatusBody {
  const system = deps.systemMemory();
  const { used_mb, budget_mb } = deps.engine.memory();
  return {
    version: deps.version,
    uptime_seconds: Math.max(0, Math.floor((deps.now().getTime() - deps.startedAt.getTime()) / 1000)),
    memory: {
      total_mb: round(system.total_mb),
      used_mb: round(used_mb),
      // What a new model may still take: the budget left, and never more than the machine has free.
      available_mb: round(Math.max(0, Math.min(budget_mb - used_mb, system.free_mb))),
      threshold_mb: round(budget_mb),
    },
    gpu: { available: false, devices: [] },
    loaded_models: deps.engine.models(),
    queue_depth: deps.engine.queueDepth(),
  };
}

/** Machine RAM from node:os, in MB. */
export function osMemory(): { total_mb: number; free_mb: number } {
  const mb = 1024 * 1024;
  return { total_mb: os.totalmem() / mb, free_mb: os.freemem() / mb };
}

/** Every model the engine holds, with how many are healthy. */
export function modelHealth(engine: Engine): { healthy_count: number; unhealthy_count: number; models: ModelStatus[] } {
  const models = engine.models();
  const healthy = models.filter((m) => m.health_status.healthy).length;
  return { healthy_count: healthy, unhealthy_count: models.length - healthy, models };
}

function round(mb: number): number {
  return Math.round(mb * 10) / 10;
}
