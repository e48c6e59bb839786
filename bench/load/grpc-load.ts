/**
 * gRPC load for the benchmark rows: unary Infer from `concurrency` workers in closed loop (the
 * same 64 clients as the REST rows, on one HTTP/2 channel as a grpc-js app would use), the
 * InferStream with a window of requests in flight, and the bare echo of baseline B5.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ECHO_MAX_MESSAGE, ECHO_SERVICE } from './echo-service.js';

const PROTOS = fileURLToPath(new URL('../../../protos/', import.meta.url));
const MAX_MESSAGE = 64 * 1024 * 1024;

interface InferRequest {
  model_id: string;
  input_data: { text?: string; text_batch?: { texts: string[] } };
  priority?: string;
}
interface InferResponse {
  output_data?: { embedding?: { values: ArrayLike<number> }; embedding_batch?: { embeddings: { values: ArrayLike<number> }[] } };
  error?: { code: string; message: string } | null;
}

/** An open InferStream call, from this file's client or the product's (src/client createGrpcClients). */
export type InferStreamCall = grpc.ClientDuplexStream<InferRequest, InferResponse>;

export interface InferenceClient {
  infer(request: InferRequest): Promise<InferResponse>;
  stream(): grpc.ClientDuplexStream<InferRequest, InferResponse>;
  close(): void;
}

export function inferenceClient(port: number): InferenceClient {
  const definition = protoLoader.loadSync(path.join('modelmora', 'v1', 'inference.proto'), {
    includeDirs: [PROTOS],
    keepCase: true,
    enums: String,
    longs: Number,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    modelmora: { v1: { InferenceService: grpc.ServiceClientConstructor } };
  };
  const client = new pkg.modelmora.v1.InferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_MESSAGE,
    'grpc.max_send_message_length': MAX_MESSAGE,
  }) as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  return {
    infer: (request) =>
      new Promise((resolve, reject) =>
        client.Infer!(request, (err: grpc.ServiceError | null, response: InferResponse) => (err ? reject(err) : resolve(response))),
      ),
    stream: () => client.InferStream!() as grpc.ClientDuplexStream<InferRequest, InferResponse>,
    close: () => client.close(),
  };
}

/** Unary Infer, one text per call, `concurrency` calls in flight: answers per second. */
export async function grpcUnaryLoad(
  client: InferenceClient,
  load: { modelId: string; texts: readonly string[]; concurrency: number; seconds: number },
): Promise<{ perSecond: number; ok: number; errors: number }> {
  let next = 0;
  let ok = 0;
  let errors = 0;
  const started = performance.now();
  const until = started + load.seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      try {
        const response = await client.infer({ model_id: load.modelId, input_data: { text: load.texts[next++ % load.texts.length]! } });
        if (response.error) errors++;
        else ok++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: load.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  if (errors > ok * 0.001) throw new Error(`gRPC Infer: ${errors} errors against ${ok} ok`);
  return { perSecond: ok / seconds, ok, errors };
}

/**
 * InferStream on the call `open` starts: each request is a batch of texts whose answer is about
 * `expectBytes` of floats; `window` requests stay in flight. Returns payload MB/s (float bytes
 * received, every answer decoded to its floats).
 */
export async function inferStreamLoad(
  open: () => InferStreamCall,
  load: { modelId: string; texts: readonly string[]; window: number; seconds: number },
): Promise<{ mbPerSecond: number; messages: number; bytesPerMessage: number }> {
  const call = open();
  const started = performance.now();
  const until = started + load.seconds * 1000;
  let sent = 0;
  let received = 0;
  let bytes = 0;
  let lastBytes = 0;
  await new Promise<void>((resolve, reject) => {
    const send = () => {
      sent++;
      call.write({ model_id: load.modelId, input_data: { text_batch: { texts: [...load.texts] } } });
    };
    call.on('data', (response: InferResponse) => {
      received++;
      if (response.error) {
        call.cancel();
        reject(new Error(`InferStream: ${response.error.code} ${response.error.message}`));
        return;
      }
      const embeddings = response.output_data?.embedding_batch?.embeddings ?? [];
      lastBytes = embeddings.reduce((sum, e) => sum + e.values.length * 4, 0);
      bytes += lastBytes;
      if (performance.now() < until) send();
      else if (received === sent) call.end();
    });
    call.on('error', (err) => reject(err));
    call.on('end', () => resolve());
    for (let i = 0; i < load.window; i++) send();
  });
  const seconds = (performance.now() - started) / 1000;
  return { mbPerSecond: bytes / 1e6 / seconds, messages: received, bytesPerMessage: lastBytes };
}

/** Baseline B5: echo `bytes`-sized messages over a bare bidi stream with `window` in flight. MB/s of echoed payload. */
export async function echoLoad(port: number, load: { bytes: number; window: number; seconds: number }): Promise<{ mbPerSecond: number; messages: number }> {
  const Echo = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
  const client = new Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': ECHO_MAX_MESSAGE,
    'grpc.max_send_message_length': ECHO_MAX_MESSAGE,
  }) as unknown as grpc.Client & { Echo(): grpc.ClientDuplexStream<Buffer, Buffer> };
  const payload = Buffer.alloc(load.bytes, 7);
  const call = client.Echo();
  const started = performance.now();
  const until = started + load.seconds * 1000;
  let sent = 0;
  let received = 0;
  let bytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const send = () => {
        sent++;
        call.write(payload);
      };
      call.on('data', (message: Buffer) => {
        received++;
        bytes += message.length;
        if (performance.now() < until) send();
        else if (received === sent) call.end();
      });
      call.on('error', reject);
      call.on('end', () => resolve());
      for (let i = 0; i < load.window; i++) send();
    });
  } finally {
    client.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { mbPerSecond: bytes / 1e6 / seconds, messages: received };
}
