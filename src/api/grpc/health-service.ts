import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ModelMoraError } from '../../domain/errors.js';
import { unary } from './call.js';

/**
 * The standard grpc.health.v1.Health service (Check and Watch), for Kubernetes gRPC probes and
 * load balancers. Every served service is SERVING while the daemon is ready (the same check as
 * /health/ready) and NOT_SERVING while it starts or drains. Unknown service names are NOT_FOUND
 * on Check and SERVICE_UNKNOWN on Watch, as the protocol says.
 */

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** How often a Watch looks at readiness; a change is reported within this time. */
const WATCH_POLL_MS = 1000;

export interface HealthService {
  implementation: UntypedServiceImplementation;
  /** Tells every watcher NOT_SERVING and ends its stream (graceful shutdown waits for open calls). */
  close(): void;
}

export function healthService(serviceNames: readonly string[], ready: () => boolean): HealthService {
  const known = new Set(['', ...serviceNames]);
  const statusOf = (service: string): ServingStatus => (!known.has(service) ? 'SERVICE_UNKNOWN' : ready() ? 'SERVING' : 'NOT_SERVING');
  const watchers = new Set<() => void>();

  const watch = (call: ServerWritableStream<{ service: string }, { status: ServingStatus }>) => {
    const service = call.request.service ?? '';
    let last: ServingStatus | undefined;
    const report = () => {
      const now = statusOf(service);
      if (now !== last) {
        last = now;
        call.write({ status: now });
      }
    };
    const timer = setInterval(report, WATCH_POLL_MS);
    timer.unref();
    const stop = () => {
      clearInterval(timer);
      watchers.delete(close);
    };
    const close = () => {
      stop();
      if (last !== 'NOT_SERVING' && last !== 'SERVICE_UNKNOWN') call.write({ status: 'NOT_SERVING' });
      call.end();
    };
    watchers.add(close);
    call.on('cancelled', stop);
    call.on('error', stop);
    report();
  };

  return {
    implementation: {
      Check: unary({}, async (request: { service: string }) => {
        const status = statusOf(request.service ?? '');
        if (status === 'SERVICE_UNKNOWN') throw new ModelMoraError('NOT_FOUND', 'Unknown service');
        return { status };
      }),
      Watch: watch,
    },
    close() {
      for (const close of [...watchers]) close();
    },
  };
}
