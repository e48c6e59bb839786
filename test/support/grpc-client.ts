import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * A gRPC client built only from the repo's .proto files (as any other language's client would
 * be), never from the project's TypeScript: what the tests see is what the wire says.
 */

const PROTOS = fileURLToPath(new URL('../../../protos/', import.meta.url));

const definition = protoLoader.loadSync(
  ['modelmora/v1/inference.proto', 'modelmora/v1/registry.proto', 'modelmora/v1/management.proto', 'grpc/health/v1/health.proto'],
  { keepCase: true, enums: String, longs: Number, defaults: true, oneofs: true, includeDirs: [PROTOS] },
);
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  modelmora: { v1: Record<string, grpc.ServiceClientConstructor> };
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};

/** A message as proto-loader decodes it; tests name the shape they read (`call<Model>(...)`). */
export type Msg = Record<string, unknown>;

export interface UnaryResult<T = Msg> {
  response: T;
  trailers: Record<string, string>;
}

/** A failed call: the status code, details and trailing metadata as plain strings. */
export interface CallFailure extends Error {
  code: number;
  details: string;
  trailers: Record<string, string>;
}

export interface GrpcClients {
  inference: grpc.Client;
  registry: grpc.Client;
  management: grpc.Client;
  health: grpc.Client;
  /** Unary call `service.method(request)`; rejects with a CallFailure. */
  call<T = Msg>(service: ServiceName, method: string, request: Msg, options?: CallOptions): Promise<UnaryResult<T>>;
  /** Like call, but resolves with the failure (and fails the test if the call succeeds). */
  fail(service: ServiceName, method: string, request: Msg, options?: CallOptions): Promise<CallFailure>;
  close(): void;
}

export interface CallOptions {
  deadline?: Date | number;
  metadata?: Record<string, string>;
}

export type ServiceName = 'inference' | 'registry' | 'management' | 'health';

export function grpcClients(port: number, options: grpc.ChannelOptions = {}): GrpcClients {
  const address = `127.0.0.1:${port}`;
  const credentials = grpc.credentials.createInsecure();
  const v1 = loaded.modelmora.v1;
  const clients = {
    inference: new v1['InferenceService']!(address, credentials, options),
    registry: new v1['RegistryService']!(address, credentials, options),
    management: new v1['ManagementService']!(address, credentials, options),
    health: new loaded.grpc.health.v1.Health(address, credentials, options),
  };
  const call = <T = Msg>(service: ServiceName, method: string, request: Msg, callOptions: CallOptions = {}): Promise<UnaryResult<T>> =>
    new Promise((resolve, reject) => {
      const client = clients[service] as unknown as Record<string, grpc.requestCallback<Msg> & ((...args: unknown[]) => grpc.ClientUnaryCall)>;
      const fn = client[method];
      if (typeof fn !== 'function') throw new Error(`no method ${service}.${method}`);
      const metadata = new grpc.Metadata();
      for (const [k, v] of Object.entries(callOptions.metadata ?? {})) metadata.set(k, v);
      let response: T | undefined;
      const unaryCall = fn.call(client, request, metadata, callOptions.deadline ? { deadline: callOptions.deadline } : {}, (err: grpc.ServiceError | null, value: T) => {
        if (err) {
          reject(Object.assign(new Error(`${service}.${method}: ${err.code} ${err.details}`), { code: err.code, details: err.details, trailers: plain(err.metadata) }));
        } else response = value;
      });
      // grpc-js calls back before it emits the status, which carries the trailers of a success.
      unaryCall.on('status', (status: grpc.StatusObject) => {
        if (status.code === grpc.status.OK) resolve({ response: response as T, trailers: plain(status.metadata) });
      });
    });
  return {
    ...clients,
    call,
    fail: async (service, method, request, callOptions) => {
      try {
        const { response } = await call(service, method, request, callOptions);
        throw Object.assign(new Error(`${service}.${method} succeeded: ${JSON.stringify(response).slice(0, 300)}`), { unexpected: true });
      } catch (err) {
        if ((err as { unexpected?: boolean }).unexpected) throw err;
        return err as CallFailure;
      }
    },
    close: () => Object.values(clients).forEach((c) => c.close()),
  };
}

function plain(metadata: grpc.Metadata | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata?.getMap() ?? {})) out[k] = typeof v === 'string' ? v : Buffer.from(v).toString('base64');
  return out;
}

export { grpc };
