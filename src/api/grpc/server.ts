import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import type { Authenticator } from '../../auth/authenticator.js';
import type { Config } from '../../config/config.js';
import { ModelMoraError } from '../../domain/errors.js';
import type { InFlightLimit } from '../../services/in-flight.js';
import type { Services } from '../../services/services.js';
import type { GrpcLog, UnaryOptions } from './call.js';
import { measured, MIB } from './message-size.js';
import { healthService } from './health-service.js';
import { inferenceService } from './inference-service.js';
import { managementService } from './management-service.js';
import { registryService } from './registry-service.js';
import { withFastResponses } from './response-codec.js';
import { LentBuffer } from './response-writer.js';
import { guardService } from './rpc-access.js';

/**
 * The gRPC skin (API document §3): modelmora.v1 InferenceService, RegistryService and
 * ManagementService from the repo's protos/, plus grpc.health.v1.Health. Handlers are thin: they
 * map messages onto the same services REST maps onto, and errors onto gRPC statuses.
 */

/** The gRPC skin's own options beside the services it maps onto (the REST skin maps onto the same). */
export interface GrpcDeps {
  services: Services;
  /** Message limits (text and image models) and the Struct nesting bound. */
  config: Pick<Config, 'grpc_max_message_mb' | 'grpc_image_max_message_mb' | 'max_json_depth'>;
  /** The global in-flight cap, shared with the REST skin; absent: no cap. */
  inFlight?: InFlightLimit | undefined;
  log?: GrpcLog;
  /** Who may call what (RPC_ACCESS); absent: auth off. */
  auth?: Authenticator | undefined;
  /** PEM certificate chain and key: the server speaks TLS only. Absent: plaintext. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** Clock of the answers' timestamps; default the system clock. */
  now?: () => Date;
}

export interface GrpcServer {
  readonly server: Server;
  /** Binds host:port (0 picks a free port) and answers the bound port. */
  listen(host: string, port: number): Promise<number>;
  /**
   * Ends health watches and open InferStreams (each after the answers it owes), waits for open
   * calls up to `timeoutMs`, then cancels what is left.
   */
  shutdown(timeoutMs: number): Promise<void>;
}

/** dist/src/api/grpc -> the package root's protos/ (shipped with the package). */
export const PROTOS_DIR = fileURLToPath(new URL('../../../../protos/', import.meta.url));

export const PROTO_FILES = ['modelmora/v1/inference.proto', 'modelmora/v1/registry.proto', 'modelmora/v1/management.proto', 'grpc/health/v1/health.proto'];

/** Field names as in the .proto, enums by name, int64 as numbers, unset fields at their defaults. */
export const PROTO_OPTIONS: Options = { keepCase: true, enums: String, longs: Number, defaults: true, oneofs: true, includeDirs: [PROTOS_DIR] };

/** Answers up to this size are written into one lent buffer (response-writer.ts LentBuffer). */
const LENT_ANSWER_BYTES = 8 * MIB;

const SERVICES = ['modelmora.v1.InferenceService', 'modelmora.v1.RegistryService', 'modelmora.v1.ManagementService'] as const;

/** Builds the server without binding it. */
export function buildGrpcServer(deps: GrpcDeps): GrpcServer {
  const definitions = loadSync(PROTO_FILES, PROTO_OPTIONS);
  // InferenceResponse carries embeddings as Float32Arrays: its methods get the fast serializer;
  // every method's requests are measured for the per-call size limits (message-size.ts).
  const fastInference = withFastResponses(definitions['modelmora.v1.InferenceService'] as ServiceDefinition, new LentBuffer(LENT_ANSWER_BYTES).take);
  const service = (name: string) => measured(name === 'modelmora.v1.InferenceService' ? fastInference : (definitions[name] as ServiceDefinition));
  // The transport cap is the largest limit (image inference, and answers, which may carry images);
  // each call is then held to its own limit.
  const textBytes = Math.round(deps.config.grpc_max_message_mb * MIB);
  const bytes = Math.max(textBytes, Math.round(deps.config.grpc_image_max_message_mb * MIB));
  // Channelz (grpc-js's call statistics for its admin service, which is not served here) would
  // track every call with its own listeners and counters: off.
  const server = new Server({ 'grpc.max_receive_message_length': bytes, 'grpc.max_send_message_length': bytes, 'grpc.enable_channelz': 0 });

  const { status } = deps.services;
  const refuse = () => (status.draining ? new ModelMoraError('SERVICE_UNAVAILABLE', 'ModelMora is shutting down') : undefined);
  const inference: UnaryOptions = { log: deps.log, refuse, inFlight: deps.inFlight };
  const options: UnaryOptions = { ...inference, maxRequestBytes: textBytes };
  const probes: UnaryOptions = { log: deps.log };
  const openStreams = new Set<() => void>();
  const health = healthService(SERVICES, () => status.readiness().ready);

  // Every RPC passes the access check of its RPC_ACCESS entry before its handler runs.
  const add = (name: string, implementation: UntypedServiceImplementation) =>
    server.addService(service(name), guardService(name, service(name), implementation, deps.auth, deps.log));
  add('modelmora.v1.InferenceService', inferenceService(deps, inference, openStreams));
  add('modelmora.v1.RegistryService', registryService(deps, options));
  add('modelmora.v1.ManagementService', managementService(deps, options, probes));
  add('grpc.health.v1.Health', health.implementation);
  const credentials = deps.tls
    ? ServerCredentials.createSsl(null, [{ cert_chain: deps.tls.cert, private_key: deps.tls.key }], false)
    : ServerCredentials.createInsecure();

  return {
    server,
    listen: (host, port) =>
      new Promise<number>((resolve, reject) => {
        const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
        server.bindAsync(address, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
      }),
    shutdown: (timeoutMs) =>
      new Promise<void>((resolve) => {
        health.close();
        for (const close of [...openStreams]) close();
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
