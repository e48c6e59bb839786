import os from 'node:os';
import type { Engine, ModelStatus, QueueDepth } from '../domain/engine.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * What the daemon says about itself, to every skin: the system status (API document §2.6.3),
 * model health (§2.7), readiness, and the Prometheus text. Built once here, so REST `/status`,
 * `/health/*`, `/metrics` and gRPC GetSystemStatus, GetModelHealth, Health cannot disagree.
 */

export interface StatusServiceDeps {
  engine: Pick<Engine, 'memory' | 'models' | 'queueDepth'>;
  metrics: Metrics;
  version: string;
  startedAt: Date;
  /** Default the system clock. */
  now?: () => Date;
  /** Machine RAM; default node:os. */
  systemMemory?: () => { total_mb: number; free_mb: number };
  /** Whether the registry is open; default always. */
  database?: () => boolean;
}

export interface Readiness {
  ready: boolean;
  checks: { database: boolean; queue: boolean };
}

export class StatusService {
  private isDraining = false;
  readonly version: string;
  readonly startedAt: Date;

  constructor(private readonly deps: StatusServiceDeps) {
    this.version = deps.version;
    this.startedAt = deps.startedAt;
  }

  /** From now on the daemon is shutting down: not ready, new work refused (probes still answer). */
  startDraining(): void {
    this.isDraining = true;
  }

  get draining(): boolean {
    return this.isDraining;
  }

  readiness(): Readiness {
    const database = this.deps.database?.() ?? true;
    const draining = this.draining;
    return { ready: !draining && database, checks: { database, queue: !draining } };
  }

  system(): SystemStatusBody {
    return systemStatus({
      engine: this.deps.engine,
      version: this.version,
      startedAt: this.startedAt,
      now: this.deps.now ?? (() => new Date()),
      systemMemory: this.deps.systemMemory ?? osMemory,
    });
  }

  modelHealth(): { healthy_count: number; unhealthy_count: number; models: ModelStatus[] } {
    const models = this.deps.engine.models();
    const healthy = models.filter((m) => m.health_status.healthy).length;
    return { healthy_count: healthy, unhealthy_count: models.length - healthy, models };
  }

  /**
   * The Prometheus text. Gauges that describe the engine's present state are read from it now,
   * so they are right even between the engine's own updates.
   */
  async metrics(): Promise<{ contentType: string; text: string }> {
    const { metrics, engine } = this.deps;
    const loaded = engine.models().filter((m) => m.state === 'loaded');
    metrics.loadedModels(loaded.length);
    metrics.modelMemoryAll(new Map(loaded.map((m) => [m.model_id, Math.round(m.memory_usage_mb * 1024 * 1024)])));
    return { contentType: metrics.contentType, text: await metrics.render() };
  }
}

interface SystemStatusDeps {
  engine: Pick<Engine, 'memory' | 'models' | 'queueDepth'>;
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

function systemStatus(deps: SystemStatusDeps): SystemStatusBody {
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

function round(mb: number): number {
  return Math.round(mb * 10) / 10;
}
