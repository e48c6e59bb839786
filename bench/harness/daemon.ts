/**
 * The A sides run a real daemon, started the way the integration tests start one
 * (test/support/daemon-process.ts: `node bin/modelmora.js serve` in a temp project and home,
 * models from absolute local folders). These helpers add what the rows need on top: loading,
 * the status document and process memory.
 */
import fs from 'node:fs/promises';
import { DEMO_MODEL, startDaemon, type DaemonModel, type DaemonOptions, type DaemonProcess } from '../../test/support/daemon-process.js';

export { DEMO_MODEL, startDaemon, type DaemonModel, type DaemonProcess };

export const DEMO_ID = 'modelmora/glove-demo';

export interface BenchDaemon extends DaemonProcess {
  /** POST /models/{id}/load; resolves when loaded. */
  load(id: string): Promise<void>;
  unload(id: string): Promise<void>;
  status(): Promise<SystemStatus>;
  inferUrl(id: string): string;
  /** Stops the daemon and removes its temp project and home. */
  close(): Promise<void>;
}

export interface SystemStatus {
  loaded_models: { model_id: string; state: string; memory_usage_mb: number }[];
}

export async function startBenchDaemon(options: DaemonOptions): Promise<BenchDaemon> {
  const daemon = await startDaemon(options);
  const call = async (method: string, path: string): Promise<unknown> => {
    const response = await fetch(`${daemon.api}${path}`, { method });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as unknown;
  };
  const enc = (id: string) => encodeURIComponent(id);
  return Object.assign(daemon, {
    load: async (id: string) => void (await call('POST', `/models/${enc(id)}/load`)),
    unload: async (id: string) => void (await call('POST', `/models/${enc(id)}/unload`)),
    status: async () => (await call('GET', '/status')) as SystemStatus,
    inferUrl: (id: string) => `${daemon.api}/infer/${enc(id)}`,
    close: async () => {
      await daemon.stop();
      // startDaemon made <tmp>/modelmora-daemon-*/{project,home}; remove the whole temp root.
      const root = daemon.dir.replace(/[/\\]project$/, '');
      if (/modelmora-daemon-/.test(root)) await fs.rm(root, { recursive: true, force: true });
    },
  });
}

/** Resident set size of a process, in MB (from /proc; Linux only, as the bench machines are). */
export async function rssMb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for pid ${pid}`);
  return kb / 1024;
}

/** One JSON POST; returns the status and the time it took in ms. */
export async function timedPost(url: string, body: string): Promise<{ status: number; ms: number; text: string }> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.text();
  return { status: response.status, ms: performance.now() - started, text };
}
