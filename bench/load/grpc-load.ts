/**
 * gRPC load for the benchmark rows: the InferStream with a window of requests in flight, and the
 * bare echo of baseline B5 (unary load: grpc-unary-load.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ECHO_MAX_MESSAGE, ECHO_SERVICE } from './echo-service.js';

const PROTOS = fileURLToPath(new URL('../../../protos/', import.meta.url));

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

/** Infer's request and response codecs, from the repo's protos (for pre-encoded load and its check). */
export function inferCodec(): { encode(request: InferRequest): Buffer; decode(message: Buffer): InferResponse } {
  const definition = protoLoader.loadSync(path.join('modelmora', 'v1', 'inference.proto'), {
    includeDirs: [PROTOS],
    keepCase: true,
    enums: String,
    longs: Number,
    oneofs: true,
  });
  const infer = (definition['modelmora.v1.InferenceService'] as protoLoader.ServiceDefinition)['Infer']!;
  return {
    encode: (request) => infer.requestSerialize(request),
    decode: (message) => infer.responseDeserialize(message) as InferResponse,
  };
}

/** Infer's HTTP/2 path, for grpcUnaryLoad. */
export const INFER_PATH = '/modelmora.v1.InferenceService/Infer';

/** Pre-encoded Infer requests, one text each, for grpcUnaryLoad. */
export function inferMessages(codec: ReturnType<typeof inferCodec>, modelId: string, texts: readonly string[]): Buffer[] {
  return texts.map((text) => codec.encode({ model_id: modelId, input_data: { text } }));
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
