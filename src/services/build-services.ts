import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { ModelCatalog } from './model-catalog.js';
import { DurableJobService } from '../jobs/job-service.js';
import { LogJobStore } from '../jobs/log-job-store.js';
import { metricsObserver } from '../metrics/engine-observer.js';
import { Metrics } from '../metrics/metrics.js';
import { composeObservers, logObserver } from '../observability/log-observer.js';
import type { Project } from '../project/project.js';
import { createRunnerFactory } from '../runtime/runner-client.js';
import { ServingEngine } from '../scheduler/engine.js';
import { ArtifactStore } from '../store/artifacts.js';
import { ModelStore } from '../store/model-store.js';
import { Registry } from '../store/registry.js';
import { VERSION } from '../version.js';
import { createServices, safeError, type Services } from './services.js';

/** The services of a daemon, with what the daemon itself needs of their parts. */
export interface DaemonServices extends Services {
  engine: ServingEngine;
  jobs: DurableJobService;
  artifacts: ArtifactStore;
  /** Models of modelmora.yaml to load at start (`preload: true`). */
  preload: string[];
  /** Resumes the jobs accepted before a restart; call before the listeners take new ones. */
  startJobs(): Promise<{ resumed: number; pruned: number }>;
  /**
   * Stops taking work and finishes what is queued and in flight, for at most `timeoutMs`; runners
   * are stopped. The skins may still answer reads (job status) until close().
   */
  drain(timeoutMs: number): Promise<void>;
}

export interface BuildOptions {
  /** modelmora.yaml and modelmora.lock, when the daemon runs in a project: it seeds the registry. */
  project?: Project | undefined;
  log: Logger;
}

/**
 * Builds every service of a daemon over its home once: registry (seeded from the project),
 * cache, engine with its runners, durable jobs, artifacts and metrics. close() stops them in
 * dependency order: work drains before runners stop, jobs settle before their store closes.
 */
export async function buildServices(config: Readonly<Config>, options: BuildOptions): Promise<DaemonServices> {
  const { log } = options;
  const registry = await Registry.open({ home: config.home });
  for (const warning of registry.warnings) log.warn({ warning }, 'registry recovered');
  const metrics = new Metrics();
  const store = new ModelStore(config.home);
  let services!: Services;
  const catalog = new ModelCatalog({ config, registry, store, metrics, project: options.project, downloads: () => services.downloads });
  const preload = await catalog.seed();
  const runnerFactory = createRunnerFactory({ spares: config.warm_runner ? 1 : 0 });
  const engine = new ServingEngine({ config, runnerFactory, lookup: (id) => catalog.lookup(id), observer: composeObservers(logObserver(log), metricsObserver(metrics)) });
  const jobStore = await LogJobStore.open(path.join(config.home, 'jobs')).catch(async (err: unknown) => {
    await engine.drain(0).catch(() => undefined);
    await runnerFactory.close();
    throw err;
  });
  for (const warning of jobStore.warnings) log.warn({ warning }, 'job store recovered');
  let jobs!: DurableJobService;
  services = createServices({
    limits: config,
    registry,
    engine,
    metrics,
    // Built over the engine as the inference service hands it on, so every job's run is counted.
    jobs: (counted) =>
      (jobs = new DurableJobService({
        engine: counted,
        store: jobStore,
        retentionMs: config.job_retention,
        concurrencyPerModel: config.job_concurrency,
        onWarning: (message, err) => log.warn(err === undefined ? {} : { err: safeError(err) }, message),
      })),
    download: catalog.download,
    removeFiles: catalog.removeFiles,
    lockFile: catalog.lockFile,
    version: VERSION,
    startedAt: new Date(),
    log,
  });
  const artifacts = new ArtifactStore({ dir: path.join(config.home, 'artifacts'), retentionMs: config.job_retention });
  artifacts.start((err) => log.warn({ err: safeError(err) }, 'artifact prune failed'));

  let drained: Promise<void> | undefined;
  const drain = (timeoutMs: number) =>
    (drained ??= (async () => {
      services.status.startDraining();
      // Jobs stop feeding the engine; the ones it holds finish in its drain (or stay unfinished on disk).
      const jobsDrained = jobs.drain();
      await engine.drain(timeoutMs);
      await runnerFactory.close();
      await jobsDrained;
    })());
  let closed: Promise<void> | undefined;
  return {
    ...services,
    engine,
    jobs,
    artifacts,
    preload,
    startJobs: () => jobs.start(),
    drain,
    close: () =>
      (closed ??= (async () => {
        await drain(0);
        await services.close();
        await jobStore.close();
        artifacts.stop();
      })()),
  };
}
