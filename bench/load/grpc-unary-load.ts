/**
 * Unary gRPC load made the way autocannon makes REST load: requests encoded once up front and
 * written straight onto HTTP/2 streams (node:http2, one connection, as a grpc-js channel uses),
 * `concurrency` calls in closed loop. An answer counts when it carries a message and its trailers
 * say grpc-status 0. Like autocannon, the generator does not decode what it receives, so its own
 * cost stays small beside the server's; the first answer of a run is decoded and checked in full.
 */
import http2 from 'node:http2';

export interface GrpcUnaryLoad {
  port: number;
  /** e.g. /modelmora.v1.InferenceService/Infer */
  path: string;
  /** Serialized request messages (protobuf), sent round-robin. */
  messages: readonly Buffer[];
  concurrency: number;
  seconds: number;
  /** Throws when the first answer's message is not what the request asked for. */
  check(message: Buffer): void;
}

export interface GrpcUnaryResult {
  perSecond: number;
  ok: number;
  errors: number;
}

/** gRPC's length-prefixed message: a compression flag byte, a 4-byte big-endian length, the bytes. */
function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

export async function grpcUnaryLoad(load: GrpcUnaryLoad): Promise<GrpcUnaryResult> {
  const frames = load.messages.map(frame);
  const session = http2.connect(`http://127.0.0.1:${load.port}`);
  await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
  const headers = { ':method': 'POST', ':path': load.path, 'content-type': 'application/grpc', te: 'trailers' };
  let next = 0;
  let ok = 0;
  let errors = 0;
  let checked = false;
  let lastError = '';
  const call = () =>
    new Promise<void>((resolve) => {
      const stream = session.request(headers);
      const chunks: Buffer[] = [];
      let received = 0;
      let status: string | undefined;
      const keep = !checked;
      stream.on('response', (h) => {
        // A trailers-only answer (an error) carries grpc-status in its headers.
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      });
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (keep) chunks.push(chunk);
      });
      stream.on('trailers', (t) => (status = String(t['grpc-status'])));
      stream.on('close', () => {
        if (status === '0' && received > 5) {
          ok++;
          if (keep && !checked) {
            checked = true;
            const body = Buffer.concat(chunks);
            load.check(body.subarray(5, 5 + body.readUInt32BE(1)));
          }
        } else {
          errors++;
          lastError = `grpc-status ${status ?? 'none'}`;
        }
        resolve();
      });
      stream.on('error', (err) => (lastError = err.message));
      stream.end(frames[next++ % frames.length]);
    });
  const started = performance.now();
  const until = started + load.seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) await call();
  };
  try {
    await Promise.all(Array.from({ length: load.concurrency }, worker));
  } finally {
    session.close();
  }
  const seconds = (performance.now() - started) / 1000;
  if (!checked) throw new Error(`gRPC ${load.path}: no answer checked (${errors} errors, last: ${lastError})`);
  if (errors > ok * 0.001) throw new Error(`gRPC ${load.path}: ${errors} errors against ${ok} ok (last: ${lastError})`);
  return { perSecond: ok / seconds, ok, errors };
}
