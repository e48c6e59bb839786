import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client, ClientDuplexStream, Metadata, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { resolveSettings } from '../config/config.js';
import { GrpcStatus, ModelMoraError, isErrorCode, type ErrorCode, type FieldError } from '../domain/errors.js';
import { noDaemonMessage } from './http-errors.js';

/**
 * gRPC clients for the daemon's three services, built at run time from the repo's .proto files
 * (package modelmora.v1) with @grpc/proto-loader. Unary calls are promises; errors come back as
 * ModelMoraError with the code the daemon put in the `error_code` trailing metadata.
 * Messages are plain objects with the proto's field names (keepCase), enums as their names
 * ('PRIORITY_HIGH'), 64-bit integers as strings, bytes as Buffer, and a `data` field naming the
 * member set in a oneof. google.protobuf.Struct fields use toStruct/fromStruct.
 * Embedding.values (InferenceResponse) come back as Float32Arrays read straight from the packed
 * bytes (response-codec.ts): a 3 MB answer costs a copy, not a number object per float.
 */

export type GrpcMessage = { [field: string]: unknown };

export interface GrpcCallOptions {
  /** Absolute deadline, or `timeoutMs` from now. */
  deadline?: Date;
  timeoutMs?: number;
  /** Extra request metadata. */
  metadata?: Record<string, string>;
}

export type UnaryCall = (request: GrpcMessage, options?: GrpcCallOptions) => Promise<GrpcMessage>;

const INFERENCE_RPCS = ['infer', 'inferAsync', 'getJobStatus', 'getJobResult', 'cancelJob'] as const;
const REGISTRY_RPCS = ['registerModel', 'listModels', 'getModel', 'updateModel', 'deleteModel', 'downloadModel', 'generateLock'] as const;
const MANAGEMENT_RPCS = ['loadModel', 'unloadModel', 'getSystemStatus', 'getModelHealth', 'livenessCheck', 'readinessCheck'] as const;

export type InferenceServiceClient = Record<(typeof INFERENCE_RPCS)[number], UnaryCall> & {
  /** The bidirectional InferStream: write InferenceRequest messages, read InferenceResponse ones. */
  inferStream(options?: GrpcCallOptions): ClientDuplexStream<GrpcMessage, GrpcMessage>;
  raw: Client;
};
export type RegistryServiceClient = Record<(typeof REGISTRY_RPCS)[number], UnaryCall> & { raw: Client };
export type ManagementServiceClient = Record<(typeof MANAGEMENT_RPCS)[number], UnaryCall> & { raw: Client };

export interface GrpcClients {
  inference: InferenceServiceClient;
  registry: RegistryServiceClient;
  management: ManagementServiceClient;
  close(): void;
}

export interface GrpcClientOptions {
  /** Sent as `authorization: Bearer <token>` metadata on every call; default MODELMORA_TOKEN. */
  token?: string;
  /** Where MODELMORA_TOKEN is read; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Speak TLS (a daemon with tls_cert); `ca` is the PEM certificate to trust instead of the system's. */
  tls?: boolean | { ca?: Buffer };
  /** Largest message either way; default 16 MB (the daemon's default). */
  maxMessageBytes?: number;
  /** Folder holding modelmora/v1/*.proto; default the package's protos/. */
  protoDir?: string;
}

/** `host:port`; grpc-js, proto-loader and the protos load on the first call, not on import. */
export async function createGrpcClients(address: string, options: GrpcClientOptions = {}): Promise<GrpcClients> {
  const grpc = await import('@grpc/grpc-js');
  const loader = await import('@grpc/proto-loader');
  const { withFastDecoding } = await import('../api/grpc/response-codec.js');
  const root = options.protoDir ?? protoDir();
  const definition = loader.loadSync(
    ['modelmora/v1/inference.proto', 'modelmora/v1/registry.proto', 'modelmora/v1/management.proto'],
    { includeDirs: [root], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
  );
  const inference = definition['modelmora.v1.InferenceService'];
  if (inference) definition['modelmora.v1.InferenceService'] = withFastDecoding(inference as ServiceDefinition) as unknown as typeof inference;
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    modelmora: { v1: Record<string, new (address: string, credentials: unknown, options?: object) => Client> };
  };
  const max = options.maxMessageBytes ?? 16 * 1024 * 1024;
  const channelOptions = { 'grpc.max_send_message_length': max, 'grpc.max_receive_message_length': max };
  const credentials = options.tls ? grpc.credentials.createSsl(typeof options.tls === 'object' ? (options.tls.ca ?? null) : null) : grpc.credentials.createInsecure();
  const token = options.token ?? resolveSettings(['token'], options.env ? { env: options.env } : {}).token ?? undefined;
  const make = (service: string): Client => {
    const Ctor = pkg.modelmora.v1[service];
    if (!Ctor) throw new ModelMoraError('INTERNAL_ERROR', `modelmora.v1.${service} is missing from the protos`);
    return new Ctor(address, credentials, channelOptions);
  };

  const metadataFor = (extra: Record<string, string> | undefined): Metadata => {
    const metadata = new grpc.Metadata();
    if (token) metadata.set('authorization', `Bearer ${token}`);
    for (const [key, value] of Object.entries(extra ?? {})) metadata.set(key, value);
    return metadata;
  };
  const callOptions = (o: GrpcCallOptions | undefined) => {
    const deadline = o?.deadline ?? (o?.timeoutMs !== undefined ? new Date(Date.now() + o.timeoutMs) : undefined);
    return deadline ? { deadline } : {};
  };
  const unary = (client: Client, method: string): UnaryCall => {
    const rpc = (client as unknown as Record<string, Function>)[method];
    if (typeof rpc !== 'function') throw new ModelMoraError('INTERNAL_ERROR', `RPC ${method} is missing from the protos`);
    return (request, o) =>
      new Promise((resolve, reject) => {
        rpc.call(client, request, metadataFor(o?.metadata), callOptions(o), (err: ServiceError | null, response: GrpcMessage) => {
          if (err) reject(errorFromGrpc(err, address));
          else resolve(response);
        });
      });
  };
  const wrap = <K extends string>(client: Client, names: readonly K[]): Record<K, UnaryCall> => {
    const out = {} as Record<K, UnaryCall>;
    for (const name of names) out[name] = unary(client, name.charAt(0).toUpperCase() + name.slice(1));
    return out;
  };

  const inferenceRaw = make('InferenceService');
  const registryRaw = make('RegistryService');
  const managementRaw = make('ManagementService');
  return {
    inference: {
      ...wrap(inferenceRaw, INFERENCE_RPCS),
      inferStream: (o) => {
        const stream = (inferenceRaw as unknown as { InferStream: Function }).InferStream.call(inferenceRaw, metadataFor(o?.metadata), callOptions(o));
        return stream as ClientDuplexStream<GrpcMessage, GrpcMessage>;
      },
      raw: inferenceRaw,
    },
    registry: { ...wrap(registryRaw, REGISTRY_RPCS), raw: registryRaw },
    management: { ...wrap(managementRaw, MANAGEMENT_RPCS), raw: managementRaw },
    close() {
      inferenceRaw.close();
      registryRaw.close();
      managementRaw.close();
    },
  };
}

/** The folder with modelmora/v1/*.proto: found by walking up from this file (src/ or dist/src/). */
export function protoDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'protos');
    if (existsSync(path.join(candidate, 'modelmora', 'v1', 'inference.proto'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new ModelMoraError('INTERNAL_ERROR', 'The modelmora protos folder is missing from the package');
}

const CODE_BY_GRPC: Record<number, ErrorCode> = {
  [GrpcStatus.CANCELLED]: 'CANCELLED',
  [GrpcStatus.INVALID_ARGUMENT]: 'VALIDATION_ERROR',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'INFERENCE_TIMEOUT',
  [GrpcStatus.NOT_FOUND]: 'NOT_FOUND',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'RATE_LIMIT_EXCEEDED',
  [GrpcStatus.UNAUTHENTICATED]: 'UNAUTHORIZED',
  [GrpcStatus.PERMISSION_DENIED]: 'FORBIDDEN',
  [GrpcStatus.UNAVAILABLE]: 'SERVICE_UNAVAILABLE',
};

/** A gRPC status back into a ModelMoraError: the code from `error_code`, else from the status. */
export function errorFromGrpc(err: ServiceError, address: string): ModelMoraError {
  const first = (key: string): string | undefined => {
    const value = err.metadata?.get(key)[0];
    return typeof value === 'string' ? value : undefined;
  };
  const sent = first('error_code');
  const details: Record<string, unknown> = { grpc_status: err.code };
  const trace = first('trace_id');
  if (trace !== undefined) details.trace_id = trace;
  const retry = Number(first('retry-after') ?? first('retry_after'));
  if (Number.isFinite(retry) && retry >= 0) details.retry_after = retry;
  let fieldErrors: FieldError[] | undefined;
  const rawFields = first('validation_errors');
  if (rawFields !== undefined) {
    try {
      const parsed: unknown = JSON.parse(rawFields);
      if (Array.isArray(parsed)) fieldErrors = parsed.filter((f): f is FieldError => typeof f?.field === 'string' && typeof f?.message === 'string');
    } catch {
      // not JSON: left out
    }
  }
  const extra = { details, ...(fieldErrors && { fieldErrors }), cause: err };
  if (isErrorCode(sent)) return new ModelMoraError(sent, err.details || sent, extra);
  if (err.code === GrpcStatus.UNAVAILABLE) return new ModelMoraError('SERVICE_UNAVAILABLE', noDaemonMessage(address), extra);
  return new ModelMoraError(CODE_BY_GRPC[err.code] ?? 'INTERNAL_ERROR', err.details || `gRPC status ${err.code}`, extra);
}

type StructValue = { nullValue: 'NULL_VALUE' } | { numberValue: number } | { stringValue: string } | { boolValue: boolean } | { structValue: GrpcStruct } | { listValue: { values: StructValue[] } };
export interface GrpcStruct {
  fields: Record<string, StructValue>;
}

/** A JSON object as a google.protobuf.Struct message (parameters, custom_data). */
export function toStruct(value: Record<string, unknown>): GrpcStruct {
  const one = (v: unknown): StructValue => {
    if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
    if (typeof v === 'number') return { numberValue: v };
    if (typeof v === 'string') return { stringValue: v };
    if (typeof v === 'boolean') return { boolValue: v };
    if (Array.isArray(v)) return { listValue: { values: v.map(one) } };
    return { structValue: toStruct(v as Record<string, unknown>) };
  };
  return { fields: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, one(v)])) };
}

/** A google.protobuf.Struct message as decoded by proto-loader, back to a JSON object. */
export function fromStruct(struct: unknown): Record<string, unknown> {
  const fields = (struct as { fields?: Record<string, Record<string, unknown>> } | undefined)?.fields ?? {};
  const one = (v: Record<string, unknown> | undefined): unknown => {
    if (!v) return null;
    // With oneofs: true, `kind` names the member that is set.
    if (typeof v.kind === 'string' && v.kind !== 'nullValue') {
      const inner = v[v.kind];
      if (v.kind === 'structValue') return fromStruct(inner);
      if (v.kind === 'listValue') return ((inner as { values?: Record<string, unknown>[] }).values ?? []).map(one);
      return inner;
    }
    if ('numberValue' in v) return v.numberValue;
    if ('stringValue' in v) return v.stringValue;
    if ('boolValue' in v) return v.boolValue;
    if ('structValue' in v) return fromStruct(v.structValue);
    if ('listValue' in v) return ((v.listValue as { values?: Record<string, unknown>[] }).values ?? []).map(one);
    return null;
  };
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, one(v)]));
}
