/**
 * The baselines run in child processes of the harness (one process tree): each prints or sends
 * `{ ready: true, ... }` once it serves, answers requests over IPC, and is stopped by the harness.
 */
import { fork, type ChildProcess } from 'node:child_process';

export interface BenchChild<Info> {
  info: Info;
  pid: number;
  /** Sends a request over IPC and resolves with the reply that carries the same id. */
  request<T>(message: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

let nextId = 1;

export async function startChild<Info extends Record<string, unknown>>(
  script: string,
  args: readonly string[] = [],
  options: { env?: Record<string, string>; execArgv?: string[]; readyTimeoutMs?: number } = {},
): Promise<BenchChild<Info>> {
  const child: ChildProcess = fork(script, [...args], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, ...options.env },
    execArgv: options.execArgv ?? [],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const info = await new Promise<Info>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready within ${options.readyTimeoutMs ?? 60_000} ms: ${stderr}`)), options.readyTimeoutMs ?? 60_000);
    child.on('message', (raw) => {
      const message = raw as { ready?: boolean; id?: number; error?: string } & Record<string, unknown>;
      if (message.ready) {
        clearTimeout(timer);
        resolve(message as unknown as Info);
        return;
      }
      const pending = message.id === undefined ? undefined : waiting.get(message.id);
      if (!pending) return;
      waiting.delete(message.id!);
      if (message.error) pending.reject(new Error(message.error));
      else pending.resolve(message);
    });
    void exited.then(() => {
      clearTimeout(timer);
      const err = new Error(`${script} exited: ${stderr}`);
      reject(err);
      for (const p of waiting.values()) p.reject(err);
      waiting.clear();
    });
  });
  return {
    info,
    pid: child.pid!,
    request: <T>(message: Record<string, unknown>, timeoutMs = 600_000) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${script}: no reply to ${String(message.cmd)} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ ...message, id });
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** For the child side: announce readiness and answer IPC requests with `handle`. */
export function serveParent(ready: Record<string, unknown>, handle: (message: Record<string, unknown>) => Promise<Record<string, unknown>>): void {
  process.on('message', (raw) => {
    const message = raw as Record<string, unknown> & { id: number };
    handle(message).then(
      (reply) => process.send!({ ...reply, id: message.id }),
      (err: unknown) => process.send!({ id: message.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  process.on('SIGTERM', () => process.exit(0));
  process.send!({ ...ready, ready: true });
}
