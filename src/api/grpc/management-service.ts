import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { ModelRef } from '../../domain/model-ref.js';
import { unary, type UnaryOptions } from './call.js';
import { toModelStatus } from './messages.js';
import type { GrpcDeps } from './server.js';

/**
 * modelmora.v1.ManagementService: the lifecycle and status calls REST serves under /models/{id}/load,
 * /unload, /status and /health, over the same services. ReadinessCheck answers OK with
 * status `not_ready` when not ready (REST answers 503 with the same body); Kubernetes probes
 * should use grpc.health.v1.Health, which says NOT_SERVING.
 */
export function managementService(deps: GrpcDeps, options: UnaryOptions, probes: UnaryOptions): UntypedServiceImplementation {
  const { models, status: service } = deps.services;
  return {
    LoadModel: unary(options, async (request: { model_id: string }) => toModelStatus(await models.load(ModelRef.parse(request.model_id)))),

    UnloadModel: unary(options, async (request: { model_id: string }) => {
      const ref = ModelRef.parse(request.model_id);
      const status = await models.unload(ref);
      // With requests in flight the model unloads once they finish: not unloaded yet.
      return { model_id: ref.id, unloaded: status.state === 'unloaded' };
    }),

    GetSystemStatus: unary(options, async () => {
      const status = service.system();
      return {
        version: status.version,
        uptime_seconds: status.uptime_seconds,
        memory: status.memory,
        gpu: status.gpu,
        loaded_models: status.loaded_models.map(toModelStatus),
        queue: status.queue_depth,
      };
    }),

    GetModelHealth: unary(options, async () => {
      const health = service.modelHealth();
      return { healthy_count: health.healthy_count, unhealthy_count: health.unhealthy_count, models: health.models.map(toModelStatus) };
    }),

    LivenessCheck: unary(probes, async () => ({ status: 'ok' })),

    ReadinessCheck: unary(probes, async () => {
      const { ready, checks } = service.readiness();
      return { status: ready ? 'ready' : 'not_ready', checks };
    }),
  };
}
