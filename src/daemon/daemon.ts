import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { buildGrpcServer, type GrpcServer } from '../api/grpc/server.js';
import { InFlightLimit } from '../services/in-flight.js';
import { restLoggerOptions } from '../api/rest/access.js';
import { buildApp } from '../api/rest/app.js';
import { Authenticator } from '../auth/authenticator.js';
import { hostPolicy } from '../auth/network-policy.js';
import { describeConfig, resolveConfig, type Config } from '../config/config.js';
import { ModelMoraError } from '../domain/errors.js';
import { DurableJobService } from '../jobs/job-service.js';
import { LogJobStore } from '../jobs/log-job-store.js';
import { metricsObserver } from '../metrics/engine-observer.js';
import { Metrics } from '../metrics/metrics.js';
import { openProject, type Project } from '../project/project.js';
import { createRunnerFactory, type ProcessRunnerFactory } from '../runtime/runner-client.js';
import { ServingEngine } from '../scheduler/engine.js';
import { ArtifactStore } from '../store/artifacts.js';
import { BackgroundDownloads } from '../services/download-service.js';
import { ModelStore } from '../store/model-store.js';
import { Registry } from '../store/registry.js';
import { ModelCatalog } from './catalog.js';
import { IdleMemoryRelease } from './memory-release.js';
import { PidLock } from './pid-lock.js';
import { checkBind, loadTls } from './startup-checks.js';
import { VERSION } from '../version.js';

export interface DaemonOptions {
  /** modelmora.yaml to seed from; default ./modelmora.yaml when it exists. */
  configPath?: string;
  /** Settings from command-line flags, keyed by setting key. */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Where structured log lines go; default stdout. */
  logDestination?: NodeJS.WritableStream;
}

export interface Daemon {
  config: Readonly<Config>;
  /** Base URL of the REST API, e.g. http://127.0.0.1:8000 */
  url: string;
  /** Bound gRPC port; undefined when gRPC is off (`grpc: false`). */
  grpcPort: number | undefined;
  app: FastifyInstance;
  engine: ServingEngine;
  jobs: DurableJobService;
  log: Logger;
  /** Readiness 503, refuse new work, drain in-flight (bounded), stop runners and listeners. */
  stop(): Promise<void>;
}

/** Starts the daemon: config, lock, registry seeded from the project, engine, REST on its port. */
export async function startDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  const project = await loadProject(options.configPath);
  const config = resolveConfig({ flags: options.flags ?? {}, env: options.env ?? process.env, yaml: project?.manifest.server ?? {} });
  const log = pino({ level: config.log_level, base: { pid: process.pid } }, options.logDestination ?? process.stdout);
  // Refuse unsafe setups before taking the home or binding anything.
  const auth = await Authenticator.create(config, { onWarning: (message) => log.warn(message) });
  checkBind(config.host, auth.enabled);
  const tls = await loadTls(config);
  const lock = PidLock.acquire(config.home);
  let engine: ServingEngine | undefined;
  let runnerFactory: ProcessRunnerFactory | undefined;
  let jobStore: LogJobStore | undefined;
  try {
    // Info lines carry no absolute path (error hygiene): the home shows as its last folder name;
    // the full path is at debug level.
    const shown = { ...describeConfig(config), home: `.../${path.basename(config.home)}` };
    log.info({ config: shown, version: VERSION, project: project ? path.basename(project.manifestPath) : null }, 'modelmora config');
    log.debug({ home: config.home }, 'modelmora home');
    log.info({ auth: auth.enabled ? auth.sources : 'off (no token source)', tls: tls !== undefined, cors_origins: config.cors_origins, allowed_hosts: config.allowed_hosts }, 'modelmora security');
    const registry = await Registry.open({ home: config.home });
    for (const warning of registry.warnings) log.warn({ warning }, 'registry recovered');
    const metrics = new Metrics();
    const store = new ModelStore(config.home);
    const catalog = new ModelCatalog({ config, registry, store, metrics, project });
    const preload = await catalog.seed();
    runnerFactory = createRunnerFactory({ spares: config.warm_runner ? 1 : 0 });
    engine = new ServingEngine({
      config,
      runnerFactory,
      lookup: (id) => catalog.lookup(id),
      observer: metricsObserver(metrics),
    });
    jobStore = await LogJobStore.open(path.join(config.home, 'jobs'));
    for (const warning of jobStore.warnings) log.warn({ warning }, 'job store recovered');
    const jobs = new DurableJobService({
      engine,
      store: jobStore,
      retentionMs: config.job_retention,
      concurrencyPerModel: config.job_concurrency,
      onWarning: (message, err) => log.warn(err === undefined ? {} : { err: safeError(err) }, message),
    });
    let draining = false;
    const artifacts = new ArtifactStore({ dir: path.join(config.home, 'artifacts'), retentionMs: config.job_retention });
    artifacts.start((err) => log.warn({ err: safeError(err) }, 'artifact prune failed'));
    const startedAt = new Date();
    const readiness = () => ({ ready: !draining, checks: { database: true, queue: !draining } });
    // One set of background downloads for both skins, so each sees (and can cancel) the other's.
    const downloads = new BackgroundDownloads(registry, catalog.download, (modelId, err) => log.warn({ model_id: modelId, err: safeError(err) }, 'download failed'));
    // One cap for both skins: a request counts the same over REST or gRPC.
    const memory = new IdleMemoryRelease({ idleMs: config.idle_memory_release_ms, minRequests: 500, onError: (err) => log.debug({ err: safeError(err) }, 'memory release failed') });
    const inFlight = new InFlightLimit(config.max_in_flight, memory);
    const app = await buildApp({
      inFlight,
      artifacts: { store: artifacts, inlineMaxKb: config.inline_image_max_kb },
      config,
      registry,
      engine,
      jobs,
      metrics,
      download: catalog.download,
      downloads,
      removeFiles: catalog.removeFiles,
      lockFile: catalog.lockFile,
      readiness,
      version: VERSION,
      startedAt,
      logger: restLoggerOptions(config.log_level === 'debug' || config.log_level === 'trace' ? config.log_level : 'warn'),
      security: { auth, hosts: hostPolicy(config.host, config.allowed_hosts), corsOrigins: config.cors_origins },
      tls,
    });
    app.addHook('onRequest', (request, _reply, done) => {
      if (draining && !request.url.includes('/health/')) done(new ModelMoraError('SERVICE_UNAVAILABLE', 'ModelMora is shutting down'));
      else done();
    });
    // Jobs accepted before a restart go first: they resume before the listener takes new ones.
    log.info(await jobs.start(), 'jobs resumed');
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
    let grpc: GrpcServer | undefined;
    let grpcPort: number | undefined;
    if (config.grpc) {
      const deps = { config, registry, engine, jobs, metrics, downloads, readiness, version: VERSION, startedAt, log, inFlight };
      grpc = buildGrpcServer({ ...deps, removeFiles: catalog.removeFiles, lockFile: catalog.lockFile, draining: () => draining, auth, tls });
      grpcPort = await grpc.listen(config.host, config.grpc_port).catch(async (err: unknown) => {
        await app.close();
        throw err;
      });
    }
    lock.publish({ pid: process.pid, host: config.host, port, grpc_port: grpcPort ?? 0, started_at: new Date().toISOString(), ...(tls && { tls: true }) });
    log.info({ url: `${url}/api/v1`, docs: `${url}/docs`, grpc_port: grpcPort ?? null }, 'modelmora listening');
    const started = engine;
    if (preload.length > 0) {
      started.preload(preload).catch((err: unknown) => log.warn({ err: safeError(err) }, 'preload failed'));
    }
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        draining = true;
        log.info({ drain_timeout_seconds: config.drain_timeout_seconds }, 'modelmora draining');
        // Jobs stop feeding the engine; the ones it holds finish in its drain (or stay unfinished on disk).
        const jobsDrained = jobs.drain();
        const drainMs = config.drain_timeout_seconds * 1000;
        const drainStarted = Date.now();
        await started.drain(drainMs);
        await runnerFactory?.close();
        await jobsDrained;
        // Calls still open (streams, answers being written) get what is left of the drain time.
        await grpc?.shutdown(Math.max(1000, drainMs - (Date.now() - drainStarted)));
        await jobStore?.close();
        await app.close();
        artifacts.stop();
        memory.stop();
        lock.release();
        log.info('modelmora stopped');
      })());
    return { config, url, grpcPort, app, engine: started, jobs, log, stop };
  } catch (err) {
    await engine?.drain(0).catch(() => undefined);
    await runnerFactory?.close();
    await jobStore?.close().catch(() => undefined);
    lock.release();
    throw err;
  }
}

async function loadProject(configPath: string | undefined): Promise<Project | undefined> {
  if (configPath !== undefined) return openProject(configPath);
  return existsSync('modelmora.yaml') ? openProject('modelmora.yaml') : undefined;
}

function safeError(err: unknown): { code: string; message: string } {
  return err instanceof ModelMoraError ? { code: err.code, message: err.message } : { code: 'INTERNAL_ERROR', message: 'Internal error' };
}
