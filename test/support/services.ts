import { Metrics } from '../../src/metrics/metrics.js';
import type { ApiLockFile } from '../../src/project/lockfile.js';
import { createServices, type ServicePorts, type Services } from '../../src/services/services.js';
import { StatusService } from '../../src/services/status-service.js';

export const TEST_LOCK: ApiLockFile = {
  version: '1.0',
  generated_at: '2025-01-02T03:04:05.000Z',
  models: [{ model_id: 'org/embed', version: 'main', checksum: 'sha256:abc', task_type: 'txt2embed', source_url: 'https://huggingface.co/org/embed' }],
  unresolved: [{ model_id: 'org/gone', error_code: 'MODEL_NOT_FOUND', message: 'Model org/gone@main was not found on the hub' }],
};

/** The limits most skin tests use. */
export const TEST_LIMITS: ServicePorts['limits'] = { max_inputs: 8, max_text_chars: 100, max_image_pixels: 1_000_000, default_timeout_seconds: 60 };

/**
 * The services over a test's registry and engine, with what every skin test wires the same way
 * (metrics without process defaults, no-op downloads, a fixed lock file); `draining` lets a test
 * turn draining on and off again, which a daemon never does.
 */
export function testServices(
  ports: Pick<ServicePorts, 'registry' | 'engine'> & Partial<Omit<ServicePorts, 'limits'>> & { limits?: Partial<ServicePorts['limits']>; draining?: () => boolean },
): Services {
  const { limits, draining, ...rest } = ports;
  const full: ServicePorts = {
    metrics: new Metrics({ defaultMetrics: false }),
    download: async () => undefined,
    lockFile: async () => TEST_LOCK,
    version: '0.1.0-test',
    startedAt: new Date(),
    ...rest,
    limits: { ...TEST_LIMITS, ...limits },
  };
  const services = createServices(full);
  if (!draining) return services;
  const status = new (class extends StatusService {
    override get draining(): boolean {
      return draining() || super.draining;
    }
  })({
    engine: full.engine,
    metrics: full.metrics,
    version: full.version,
    startedAt: full.startedAt,
    ...(full.now && { now: full.now }),
    ...(full.systemMemory && { systemMemory: full.systemMemory }),
  });
  return { ...services, status };
}
