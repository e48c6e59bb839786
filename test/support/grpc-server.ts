import { buildGrpcServer, type GrpcDeps, type GrpcServer } from '../../src/api/grpc/server.js';
import type { Config } from '../../src/config/config.js';
import { testServices } from './services.js';

type Limits = Pick<Config, 'max_inputs' | 'max_text_chars' | 'max_image_pixels' | 'default_timeout_seconds'>;

/**
 * The gRPC skin for in-process tests over testServices: each test passes its registry and
 * engine and whatever it tests (config limits, jobs, auth, draining...).
 */
export function testGrpcServer(
  deps: Parameters<typeof testServices>[0] & Omit<Partial<GrpcDeps>, 'config' | 'services'> & { config?: Partial<GrpcDeps['config'] & Limits> },
): GrpcServer {
  const { config = {}, inFlight, log, auth, tls, now, ...ports } = deps;
  const { grpc_max_message_mb = 4, grpc_image_max_message_mb = 4, max_json_depth = 32, ...limits } = config;
  return buildGrpcServer({
    services: testServices({ ...ports, limits }),
    config: { grpc_max_message_mb, grpc_image_max_message_mb, max_json_depth },
    inFlight,
    ...(log && { log }),
    auth,
    tls,
    ...(now && { now }),
  });
}
