/**
 * REST load from autocannon (programmatic): `connections` clients, each with one request in
 * flight, POSTing JSON bodies taken round-robin from a list, for `seconds`.
 */
import type autocannonFn from 'autocannon';
import { withCpu, type CpuPerUnit } from '../harness/cpu.js';
import type { BenchDaemon } from '../harness/daemon.js';

/** autocannon is a devDependency; load it on first use so a missing install says what to do. */
async function loadAutocannon(): Promise<typeof autocannonFn> {
  try {
    return (await import('autocannon')).default;
  } catch {
    throw new Error('autocannon is not installed: run npm install (it is a devDependency of the benchmarks)');
  }
}

export interface RestLoad {
  url: string;
  bodies: readonly string[];
  connections: number;
  seconds: number;
}

export interface RestLoadResult {
  /** 2xx answers per second of the run. */
  perSecond: number;
  ok: number;
  non2xx: number;
  errors: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

export async function restLoad(load: RestLoad): Promise<RestLoadResult> {
  const autocannon = await loadAutocannon();
  let next = 0;
  const result = await autocannon({
    url: load.url,
    connections: load.connections,
    pipelining: 1,
    duration: load.seconds,
    timeout: 60,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: load.bodies[next++ % load.bodies.length]! }),
      },
    ],
  });
  const ok = result['2xx'];
  return {
    perSecond: ok / result.duration,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
  };
}

/** Throws when a run had failures: a throughput made of errors is not a throughput. */
export function requireClean(what: string, r: RestLoadResult): number {
  const bad = r.non2xx + r.errors;
  if (bad > 0 && bad > r.ok * 0.001) throw new Error(`${what}: ${r.non2xx} non-2xx and ${r.errors} errors against ${r.ok} ok`);
  return r.perSecond;
}

/**
 * One measured run of ModelMora REST (the A side of rows 1-3b): the load, its latency and the
 * CPU its daemon, runner and this harness (the client) spent, added to `cpu` per request.
 */
export async function modelMoraRestRun(
  daemon: Pick<BenchDaemon, 'pid' | 'runnerPids' | 'inferUrl'>,
  modelId: string,
  load: Omit<RestLoad, 'url'>,
  cpu: CpuPerUnit,
): Promise<{ reqPerSecond: number; latency: [number, number] }> {
  const { result: r, cpu: spent } = await withCpu(
    { daemon: () => [daemon.pid], runner: () => daemon.runnerPids(), client: () => [process.pid] },
    () => restLoad({ ...load, url: daemon.inferUrl(modelId) }),
  );
  for (const [name, ms] of Object.entries(spent)) cpu.add(`ModelMora ${name}`, ms, r.ok);
  return { reqPerSecond: requireClean('ModelMora REST', r), latency: [r.latencyP50Ms, r.latencyP99Ms] };
}

/**
 * One measured run of a baseline server (a B side): its req/s, and the CPU it and this harness
 * (the client) spent, added to `cpu` per request as '<name> server' and '<name> client'.
 */
export async function baselineRestRun(name: string, pid: number, load: RestLoad, cpu: CpuPerUnit): Promise<number> {
  const { result: r, cpu: spent } = await withCpu({ server: () => [pid], client: () => [process.pid] }, () => restLoad(load));
  cpu.add(`${name} server`, spent.server, r.ok);
  cpu.add(`${name} client`, spent.client, r.ok);
  return requireClean(`${name} server`, r);
}
