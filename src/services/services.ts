import type { Engine } from '../domain/engine.js';
import { ModelMoraError } from '../domain/errors.js';
import type { JobService } from '../domain/jobs.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Registry } from '../store/registry.js';
import { DownloadService, type DownloadPort } from './download-service.js';
import type { InputLimits } from './inference-input.js';
import { InferenceService, type RequestLog } from './inference-service.js';
import { ModelService, type LockFileSource } from './model-service.js';
import { StatusService } from './status-service.js';

/**
 * The application services every skin (REST, gRPC, the dialects) is a thin mapping over. They
 * know nothing of HTTP or gRPC: they take ModelRefs and neutral inputs, and throw ModelMoraErrors.
 */
export interface Services {
  inference: InferenceService;
  models: ModelService;
  status: StatusService;
  downloads: DownloadService;
  /** Stops what the services own, in dependency order; idempotent. */
  close(): Promise<void>;
}

/** What the services are built over: the engine, the registry and the ports that reach the cache. */
export interface ServicePorts {
  limits: InputLimits;
  registry: Registry;
  engine: Engine;
  metrics: Metrics;
  /** Async jobs, or a job service to build over the engine as InferenceService counts it; absent: jobs are off. */
  jobs?: JobService | ((engine: Pick<Engine, 'infer'>) => JobService) | undefined;
  /** Fetches a model's files into the cache; must honour the signal. */
  download: DownloadPort;
  removeFiles?: ((modelId: string) => Promise<void>) | undefined;
  lockFile: LockFileSource;
  version: string;
  startedAt: Date;
  now?: (() => Date) | undefined;
  systemMemory?: (() => { total_mb: number; free_mb: number }) | undefined;
  log?: (RequestLog & { warn(fields: Record<string, unknown>, message: string): void }) | undefined;
}

export function createServices(ports: ServicePorts): Services {
  const downloads = new DownloadService(ports.registry, ports.download, (modelId, err) => ports.log?.warn({ model_id: modelId, err: safeError(err) }, 'download failed'));
  const inference = new InferenceService({
    registry: ports.registry,
    engine: ports.engine,
    metrics: ports.metrics,
    limits: ports.limits,
    jobs: ports.jobs,
    log: ports.log,
  });
  const models = new ModelService({ registry: ports.registry, engine: ports.engine, downloads, removeFiles: ports.removeFiles, lockFile: ports.lockFile });
  const status = new StatusService({
    engine: ports.engine,
    metrics: ports.metrics,
    version: ports.version,
    startedAt: ports.startedAt,
    ...(ports.now && { now: ports.now }),
    ...(ports.systemMemory && { systemMemory: ports.systemMemory }),
  });
  let closing: Promise<void> | undefined;
  return {
    inference,
    models,
    status,
    downloads,
    close: () => (closing ??= downloads.stop()),
  };
}

/** An error as a log line may show it: a ModelMoraError's code and safe message, nothing else (no paths, no stacks). */
export function safeError(err: unknown): { code: string; message: string } {
  return err instanceof ModelMoraError ? { code: err.code, message: err.message } : { code: 'INTERNAL_ERROR', message: 'Internal error' };
}
