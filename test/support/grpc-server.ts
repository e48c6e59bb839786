import { buildGrpcServer, type GrpcDeps, type GrpcServer } from '../../src/api/grpc/server.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { BackgroundDownloads } from '../../src/services/download-service.js';

/**
 * The gRPC skin for in-process tests: what every such test wires the same way (metrics, no-op
 * downloads, an empty lock file, ready), with the limits most tests use; each test passes its
 * registry and engine and whatever it tests (config limits, jobs, auth, draining...).
 */
export function testGrpcServer(deps: Pick<GrpcDeps, 'registry' | 'engine'> & Partial<Omit<GrpcDeps, 'config'>> & { config?: Partial<GrpcDeps['config']> }): GrpcServer {
  const { config, ...rest } = deps;
  return buildGrpcServer({
    metrics: new Metrics({ defaultMetrics: false }),
    downloads: new BackgroundDownloads(deps.registry, async () => undefined),
    lockFile: async () => ({ version: '1.0', generated_at: '2025-01-02T03:04:05.000Z', models: [] }),
    readiness: () => ({ ready: true, checks: { database: true, queue: true } }),
    version: '0.1.0-test',
    startedAt: new Date(),
    ...rest,
    config: { grpc_max_message_mb: 4, grpc_image_max_message_mb: 4, max_inputs: 8, max_text_chars: 100, max_image_pixels: 1_000_000, default_timeout_seconds: 60, max_json_depth: 32, ...config },
  });
}
