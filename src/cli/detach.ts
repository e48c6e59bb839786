import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { ModelMoraClient } from '../client/client.js';
import { recordUrl } from '../client/daemon-url.js';
import { resolveConfig, resolveSettings, type Config } from '../config/config.js';
import { ModelMoraError } from '../domain/errors.js';
import { runningDaemon, type DaemonRecord } from '../config/daemon-record.js';
import type { Output } from './render/output.js';

/**
 * The local daemon as a background process: `serve --detach` starts it and waits until it is
 * ready, `stop` signals it and waits until it is gone. Both find it through <home>/daemon.pid,
 * which the daemon itself writes (pid, host, ports) and removes on a clean exit.
 */

/** dist/src/cli/detach.js -> <repo>/bin/modelmora.js */
const BIN = fileURLToPath(new URL('../../../bin/modelmora.js', import.meta.url));
const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
const LOG_TAIL_LINES = 15;

export interface DetachRequest {
  /** The serve command's settings flags (keyed by setting key), as the daemon will resolve them. */
  flags: Record<string, unknown>;
  /** --config when given explicitly. */
  configPath?: string;
  /** The CLI's own arguments; the child gets them minus --detach. */
  argv: readonly string[];
  output: Output;
}

export interface DetachedDaemon {
  pid: number;
  url: string;
  api: string;
  grpc_port: number | null;
  log: string;
  already_running: boolean;
}

/**
 * A second `serve --detach` on a home whose daemon is alive prints where it runs and exits 0:
 * the wanted state (a daemon serving this home) holds, so scripts may call it unconditionally.
 */
export async function serveDetached(request: DetachRequest): Promise<DetachedDaemon> {
  const { home, tls_cert: tlsCert } = await daemonConfig(request.flags, request.configPath);
  const trust = ownCertificate(tlsCert);
  const log = path.join(home, 'logs', 'daemon.log');
  const running = runningDaemon(home);
  if (running) {
    const found = describe(running, log, true);
    request.output.data(found, () => `ModelMora is already running for this home (pid ${found.pid}) at ${found.api}${grpcLine(found)}`);
    return found;
  }

  mkdirSync(path.dirname(log), { recursive: true });
  const offset = existsSync(log) ? statSync(log).size : 0;
  const fd = openSync(log, 'a');
  let child;
  try {
    child = spawn(process.execPath, [BIN, ...request.argv.filter((a) => a !== '--detach')], {
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd: process.cwd(),
      env: process.env,
    });
  } finally {
    closeSync(fd);
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => (exited = { code, signal }));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  child.unref();

  const deadline = Date.now() + READY_TIMEOUT_MS;
  let failure: Error | undefined;
  spawnError.then((err) => (failure = err), () => undefined);
  while (Date.now() < deadline) {
    if (failure) throw new ModelMoraError('PROCESS_SPAWN_FAILED', 'Could not start the daemon process', { cause: failure });
    if (exited) {
      printTail(request.output, log, offset);
      const how = exited.signal ? `was killed (${exited.signal})` : `exited with code ${exited.code}`;
      throw new ModelMoraError('SERVICE_UNAVAILABLE', `The daemon ${how} before it was ready; see logs/daemon.log in the home`);
    }
    const record = runningDaemon(home);
    if (record && record.pid === child.pid && (await isReady(record, trust))) {
      const started = describe(record, log, false);
      request.output.data(started, () =>
        [`ModelMora running in the background (pid ${started.pid})`, `  REST  ${started.api}`, ...(started.grpc_port ? [`  gRPC  ${record.host}:${started.grpc_port}`] : []), `  logs  ${log}`, `  stop  modelmora stop`].join('\n'),
      );
      return started;
    }
    await sleep(POLL_MS);
  }
  // Not ready in time: do not leave a half-started daemon behind.
  if (child.pid !== undefined && !exited) process.kill(child.pid, 'SIGTERM');
  printTail(request.output, log, offset);
  throw new ModelMoraError('SERVICE_UNAVAILABLE', `The daemon was not ready within ${READY_TIMEOUT_MS / 1000} s and was stopped; see logs/daemon.log in the home`);
}

/** SIGTERM to the daemon of `home`, then wait (bounded) until the process is gone. */
export async function stopDaemon(home: string, timeoutMs: number): Promise<{ pid: number } | undefined> {
  const pid = recordedPid(home);
  if (pid === undefined || !isAlive(pid)) return undefined;
  try {
    process.kill(pid, 'SIGTERM');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw new ModelMoraError('FORBIDDEN', `Cannot signal the daemon (pid ${pid}): ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) {
      throw new ModelMoraError('SERVICE_UNAVAILABLE', `The daemon (pid ${pid}) is still draining after ${Math.round(timeoutMs / 1000)} s; run modelmora stop again to end it at once`);
    }
    await sleep(POLL_MS);
  }
  return { pid };
}

/** How long `stop` waits by default: the daemon's drain timeout plus 5 s for closing. */
export function defaultStopTimeoutMs(): number {
  return (resolveSettings(['drain_timeout_seconds']).drain_timeout_seconds + 5) * 1000;
}

/** The home of --home / MODELMORA_HOME / the default, as the client and `stop` see it. */
export function cliHome(home: string | undefined): string {
  return resolveSettings(['home'], { flags: home !== undefined ? { home: path.resolve(home) } : {} }).home;
}

/** The config the daemon will use: flags > env > the server: section of modelmora.yaml > default. */
async function daemonConfig(flags: Record<string, unknown>, configPath: string | undefined): Promise<Config> {
  const file = configPath ?? 'modelmora.yaml';
  let yaml: Record<string, unknown> | undefined;
  if (configPath !== undefined || existsSync(file)) {
    const { openProject } = await import('../project/project.js');
    yaml = (await openProject(file)).manifest.server;
  }
  return resolveConfig({ flags, ...(yaml && { yaml }) });
}

/**
 * What the readiness check trusts: the system's CAs plus the daemon's own certificate, so a
 * daemon started with a self-signed one is seen ready without NODE_EXTRA_CA_CERTS. It is the
 * certificate this command just told the daemon to serve. Unreadable: the daemon refuses to
 * start anyway, and says why in its log.
 */
function ownCertificate(certFile: string | null): string[] | undefined {
  if (!certFile) return undefined;
  try {
    return [...rootCertificates, readFileSync(certFile, 'utf8')];
  } catch {
    return undefined;
  }
}

async function isReady(record: DaemonRecord, trust: string[] | undefined): Promise<boolean> {
  const client = new ModelMoraClient({ baseUrl: recordUrl(record), timeoutMs: 2000, ...(record.tls && trust && { ca: trust }) });
  try {
    return (await client.health.ready()).status === 'ready';
  } catch {
    return false;
  } finally {
    await client.close();
  }
}

function describe(record: DaemonRecord, log: string, already: boolean): DetachedDaemon {
  const url = recordUrl(record);
  return { pid: record.pid, url, api: `${url}/api/v1`, grpc_port: record.grpc_port > 0 ? record.grpc_port : null, log, already_running: already };
}

function grpcLine(d: DetachedDaemon): string {
  return d.grpc_port ? `, gRPC port ${d.grpc_port}` : '';
}

/** This run's last log lines, on stderr, so a failed start explains itself. */
function printTail(output: Output, log: string, offset: number): void {
  let text = '';
  try {
    text = readFileSync(log, 'utf8').slice(offset);
  } catch {
    return;
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '').slice(-LOG_TAIL_LINES);
  if (lines.length > 0) output.stderr.write(`last lines of the daemon log:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
}

function recordedPid(home: string): number | undefined {
  try {
    const value = JSON.parse(readFileSync(path.join(home, 'daemon.pid'), 'utf8')) as { pid?: unknown };
    return typeof value.pid === 'number' ? value.pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An exited daemon nobody has reaped yet (a zombie) still answers signal 0 on Linux.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
