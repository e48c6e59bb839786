import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

/**
 * A real daemon in a child process (`node bin/modelmora.js serve`), in a temp project and home,
 * the way a user runs it. Integration tests talk to it over 127.0.0.1 and kill it with real signals.
 */

const BIN = fileURLToPath(new URL('../../../bin/modelmora.js', import.meta.url));
/** dist/test/support -> <repo>/test/fixtures/models */
export const FIXTURE_MODELS = fileURLToPath(new URL('../../../test/fixtures/models/', import.meta.url));
export const DEMO_MODEL = fileURLToPath(new URL('../../../models/glove-demo/', import.meta.url));

export interface DaemonModel {
  id: string;
  task: string;
  /** Absolute folder (a local source). */
  source: string;
  config?: Record<string, unknown>;
  keep_alive?: string | number;
  preload?: boolean;
  resources?: Record<string, number>;
}

export interface DaemonOptions {
  models?: DaemonModel[];
  /** `server:` settings of modelmora.yaml. */
  server?: Record<string, unknown>;
  /** Extra serve flags, e.g. ['--max-batch-size', '1']. */
  args?: string[];
  /** Flags for the daemon's node itself, e.g. ['--cpu-prof'] (which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** Reuse a home (restart tests); default a fresh temp one. */
  home?: string;
  /** Reuse a project folder; default a fresh temp one. */
  dir?: string;
}

export interface DaemonProcess {
  url: string;
  /** REST base: `${url}/api/v1`. */
  api: string;
  grpcPort: number | undefined;
  pid: number;
  home: string;
  dir: string;
  child: ChildProcess;
  /** Every structured log line so far. */
  logs: Array<Record<string, unknown>>;
  stderr(): string;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait (the graceful path); kills after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Pids of the runner processes this daemon forked for models (the idle warm spare excluded). */
  runnerPids(): Promise<number[]>;
  /** Pid of the idle warm spare runner, if any (setting warm_runner). */
  sparePids(): Promise<number[]>;
}

export async function startDaemon(options: DaemonOptions = {}): Promise<DaemonProcess> {
  const root = options.dir && options.home ? undefined : await fs.mkdtemp(path.join(os.tmpdir(), 'modelmora-daemon-'));
  const dir = options.dir ?? path.join(root!, 'project');
  const home = options.home ?? path.join(root!, 'home');
  await fs.mkdir(dir, { recursive: true });
  const manifest = { models: options.models ?? [], server: { host: '127.0.0.1', port: 0, grpc_port: 0, ...options.server } };
  await fs.writeFile(path.join(dir, 'modelmora.yaml'), stringify(manifest));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(MODELMORA_|HF_)/.test(k)) env[k] = v;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, 'serve', ...(options.args ?? [])], {
    cwd: dir,
    env: { ...env, MODELMORA_HOME: home, MODELMORA_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'modelmora listening') resolve(entry);
        } catch {
          // not a log line
        }
      }
    });
    void exited.then(({ code }) => reject(new Error(`daemon exited (${code}) before listening: ${stderr.slice(-2000)}`)));
    setTimeout(() => reject(new Error(`daemon did not listen within 30 s: ${stderr.slice(-2000)}`)), 30_000).unref();
  });
  const ready = await listening;
  const api = String(ready.url);
  const url = api.replace(/\/api\/v1$/, '');
  return {
    url,
    api,
    grpcPort: typeof ready.grpc_port === 'number' ? ready.grpc_port : undefined,
    pid: child.pid!,
    home,
    dir,
    child,
    logs,
    stderr: () => stderr,
    exited,
    stop: async (timeoutMs = 30_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    runnerPids: async () => (await childPids(child.pid!)).filter((pid) => !pid.spare).map((pid) => pid.pid),
    sparePids: async () => (await childPids(child.pid!)).filter((pid) => pid.spare).map((pid) => pid.pid),
  };
}

/**
 * Child processes of `parent`. An idle spare runner is told apart by its command line (`--warm`);
 * a runner retitles itself `modelmora-runner` when it takes a model.
 */
async function childPids(parent: number): Promise<Array<{ pid: number; spare: boolean }>> {
  const out: Array<{ pid: number; spare: boolean }> = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Field 4 of /proc/<pid>/stat is the parent pid (after the parenthesised command name).
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid !== parent) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    out.push({ pid: Number(entry), spare: cmdline.split('\0').includes('--warm') });
  }
  return out;
}
