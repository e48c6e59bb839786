import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { buildGrpcServer, type GrpcServer } from '../api/grpc/server.js';
import { restLoggerOptions } from '../api/rest/access.js';
import { buildApp } from '../api/rest/app.js';
import { Authenticator } from '../auth/authenticator.js';
import { hostPolicy } from '../auth/network-policy.js';
import { describeConfig, resolveConfig, type Config } from '../config/config.js';
import type { DurableJobService } from '../jobs/job-service.js';
import { openProject, type Project } from '../project/project.js';
import type { ServingEngine } from '../scheduler/engine.js';
import { buildServices, type DaemonServices } from '../services/build-services.js';
import { InFlightLimit } from '../services/in-flight.js';
import { safeError } from '../services/services.js';
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
  let services: DaemonServices | undefined;
  try {
    // Info lines carry no absolute path (error hygiene): the home shows as its last folder name;
    // the full path is at debug level.
    const shown = { ...describeConfig(config), home: `.../${path.basename(config.home)}` };
    log.info({ config: shown, version: VERSION, project: project ? path.basename(project.manifestPath) : null }, 'modelmora config');
    log.debug({ home: config.home }, 'modelmora home');
    log.info({ auth: auth.enabled ? auth.sources : 'off (no token source)', tls: tls !== undefined, cors_origins: config.cors_origins, allowed_hosts: config.allowed_hosts }, 'modelmora security');
    services = await buildServices(config, { project, log });
    const built = services;
    // One cap for both skins: a request counts the same over REST or gRPC.
    const memory = new IdleMemoryRelease({ idleMs: config.idle_memory_release_ms, minRequests: 500, onError: (err) => log.debug({ err: safeError(err) }, 'memory release failed') });
    const inFlight = new InFlightLimit(config.max_in_flight, memory);
    const app = await buildApp({
      services,
      config,
      inFlight,
      artifacts: { store: services.artifacts, inlineMaxKb: config.inline_image_max_kb },
      logger: restLoggerOptions(config.log_level === 'debug' || config.log_level === 'trace' ? config.log_level : 'warn'),
      security: { auth, hosts: hostPolicy(config.host, config.allowed_hosts), corsOrigins: config.cors_origins },
      tls,
    });
    // Jobs accepted before a restart go first: they resume before the listener takes new ones.
    log.info(await services.startJobs(), 'jobs resumed');
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
    let grpc: GrpcServer | undefined;
    let grpcPort: number | undefined;
    if (config.grpc) {
      grpc = buildGrpcServer({ services, config, inFlight, log, auth, tls });
      grpcPort = await grpc.listen(config.host, config.grpc_port).catch(async (err: unknown) => {
        await app.close();
        throw err;
      });
    }
    lock.publish({ pid: process.pid, host: config.host, port, grpc_port: grpcPort ?? 0, started_at: new Date().toISOString(), ...(tls && { tls: true }) });
    log.info({ url: `${url}/api/v1`, docs: `${url}/docs`, grpc_port: grpcPort ?? null }, 'modelmora listening');
    if (services.preload.length > 0) {
      services.engine.preload(services.preload).catch((err: unknown) => log.warn({ err: safeError(err) }, 'preload failed'));
    }
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        log.info({ drain_timeout_seconds: config.drain_timeout_seconds }, 'modelmora draining');
        const drainMs = config.drain_timeout_seconds * 1000;
        const drainStarted = Date.now();
        await built.drain(drainMs);
        // Calls still open (streams, answers being written) get what is left of the drain time.
        await grpc?.shutdown(Math.max(1000, drainMs - (Date.now() - drainStarted)));
        await app.close();
        await built.close();
        memory.stop();
        lock.release();
        log.info('modelmora stopped');
      })());
    return { config, url, grpcPort, app, engine: services.engine, jobs: services.jobs, log, stop };
  } catch (err) {
    await services?.close().catch(() => undefined);
    lock.release();
    throw err;
  }
}

async function loadProject(configPath: string | undefined): Promise<Project | undefined> {
  if (configPath !== undefined) return openProject(configPath);
  return existsSync('modelmora.yaml') ? openProject('modelmora.yaml') : undefined;
}
