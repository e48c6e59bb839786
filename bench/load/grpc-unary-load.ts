/**
 * Unary gRPC load made the way autocannon makes REST load: a minimal client that writes
 * pre-encoded requests straight onto one connection and counts the answers, `concurrency` calls
 * in closed loop. autocannon speaks HTTP/1.1 over a plain socket with its own few lines of
 * framing; this speaks HTTP/2 (RFC 9113) the same way, because node:http2's client costs about
 * 60 µs per call on these cores (measured against the daemon's 80), where autocannon costs 40:
 * with it, row 4 compared load generators more than servers.
 *
 * What it does of HTTP/2: the preface and SETTINGS (push off, the largest stream window), one
 * connection WINDOW_UPDATE kept topped up, SETTINGS and PING acknowledged, a HEADERS frame
 * (HPACK literals without indexing, so the client keeps no header table) and a DATA frame per
 * call, and the server's send window respected. Answers' header blocks are never decoded: the
 * daemon answers a failed call with a trailers-only response (no DATA), so a call counts as ok
 * when one whole gRPC message came back before END_STREAM, and as an error otherwise (also on
 * RST_STREAM). The first answer is decoded and checked in full, and one in CHECK_EVERY again.
 */
import net from 'node:net';

export interface GrpcUnaryLoad {
  port: number;
  /** e.g. /modelmora.v1.InferenceService/Infer */
  path: string;
  /** Serialized request messages (protobuf), sent round-robin. */
  messages: readonly Buffer[];
  concurrency: number;
  seconds: number;
  /** Throws when an answer's message is not what the request asked for. */
  check(message: Buffer): void;
}

export interface GrpcUnaryResult {
  perSecond: number;
  ok: number;
  errors: number;
}

const CHECK_EVERY = 4096;
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const MAX_WINDOW = 2 ** 31 - 1;
const DEFAULT_WINDOW = 65_535;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(stream, 5);
  payload.copy(out, 9);
  return out;
}

/** An HPACK string literal, not Huffman-coded (lengths under 127). */
function hpackString(value: string): Buffer {
  if (value.length >= 127) throw new Error(`header value too long for this client: ${value}`);
  return Buffer.concat([Buffer.from([value.length]), Buffer.from(value, 'latin1')]);
}

/** The request's header block: every call sends the same one. */
function headerBlock(path: string, authority: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http (static table 3 and 6)
    Buffer.from([0x04]), hpackString(path), // :path, literal without indexing, name from static 4
    Buffer.from([0x01]), hpackString(authority), // :authority (static 1)
    Buffer.from([0x0f, 0x10]), hpackString('application/grpc'), // content-type (static 31)
    Buffer.from([0x00]), hpackString('te'), hpackString('trailers'),
  ]);
}

/** HEADERS then DATA (END_STREAM) for one request; the stream id is written per call. */
function requestTemplate(block: Buffer, message: Buffer): { bytes: Buffer; dataLength: number } {
  const grpc = Buffer.allocUnsafe(5 + message.length);
  grpc[0] = 0;
  grpc.writeUInt32BE(message.length, 1);
  message.copy(grpc, 5);
  if (grpc.length > 16_384) throw new Error('request larger than one DATA frame');
  return { bytes: Buffer.concat([frame(HEADERS, END_HEADERS, 0, block), frame(DATA, END_STREAM, 0, grpc)]), dataLength: grpc.length };
}

interface Call {
  received: number;
  /** Kept only for the answers that are checked. */
  chunks: Buffer[] | undefined;
  done(ok: boolean, why?: string): void;
}

export async function grpcUnaryLoad(load: GrpcUnaryLoad): Promise<GrpcUnaryResult> {
  const block = headerBlock(load.path, `127.0.0.1:${load.port}`);
  const templates = load.messages.map((m) => requestTemplate(block, m));
  const socket = net.connect({ host: '127.0.0.1', port: load.port, noDelay: true });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const settings = Buffer.alloc(12);
  settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH
  settings.writeUInt32BE(0, 2);
  settings.writeUInt16BE(0x4, 6); // INITIAL_WINDOW_SIZE
  settings.writeUInt32BE(MAX_WINDOW, 8);
  const increment = (n: number) => frame(WINDOW_UPDATE, 0, 0, Buffer.from([(n >>> 24) & 0x7f, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]));
  socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, settings), increment(MAX_WINDOW - DEFAULT_WINDOW)]));

  const calls = new Map<number, Call>();
  let nextStream = 1;
  let next = 0;
  let sendWindow = DEFAULT_WINDOW;
  let consumed = 0;
  let failure: Error | undefined;
  const waitingForWindow: (() => void)[] = [];
  let pending: Buffer = Buffer.alloc(0);

  const onFrame = (type: number, flags: number, stream: number, payload: Buffer) => {
    if (type === SETTINGS && !(flags & ACK)) socket.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
    else if (type === PING && !(flags & ACK)) socket.write(frame(PING, ACK, 0, payload));
    else if (type === GOAWAY) failure ??= new Error(`gRPC ${load.path}: the server sent GOAWAY`);
    else if (type === WINDOW_UPDATE && stream === 0) {
      sendWindow += payload.readUInt32BE(0) & 0x7fffffff;
      while (waitingForWindow.length > 0) waitingForWindow.shift()!();
    }
    const call = calls.get(stream);
    if (!call) return;
    if (type === DATA) {
      const body = flags & PADDED ? payload.subarray(1, payload.length - payload[0]!) : payload;
      call.received += body.length;
      call.chunks?.push(Buffer.from(body));
      consumed += payload.length;
      if (consumed > MAX_WINDOW / 2) {
        socket.write(increment(consumed));
        consumed = 0;
      }
    }
    if (type === RST_STREAM) call.done(false, `RST_STREAM ${payload.readUInt32BE(0)}`);
    else if ((type === DATA || type === HEADERS) && flags & END_STREAM) call.done(call.received > 5, 'an answer without a message (a gRPC error)');
  };
  socket.on('data', (chunk: Buffer) => {
    let buffer = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    while (buffer.length >= 9) {
      const length = buffer.readUIntBE(0, 3);
      if (buffer.length < 9 + length) break;
      onFrame(buffer[3]!, buffer[4]!, buffer.readUInt32BE(5) & 0x7fffffff, buffer.subarray(9, 9 + length));
      buffer = buffer.subarray(9 + length);
    }
    pending = buffer;
  });
  socket.on('error', (err) => (failure ??= err));
  socket.on('close', () => {
    failure ??= new Error(`gRPC ${load.path}: the connection closed`);
    for (const call of calls.values()) call.done(false, 'connection closed');
  });

  let ok = 0;
  let errors = 0;
  let lastError = '';
  let checked = 0;
  const call = async (): Promise<void> => {
    const template = templates[next++ % templates.length]!;
    while (sendWindow < template.dataLength && !failure) await new Promise<void>((resolve) => waitingForWindow.push(resolve));
    if (failure) throw failure;
    sendWindow -= template.dataLength;
    const stream = nextStream;
    nextStream += 2;
    const bytes = Buffer.from(template.bytes);
    bytes.writeUInt32BE(stream, 5);
    bytes.writeUInt32BE(stream, template.bytes.length - template.dataLength - 4);
    const keep = (ok + errors) % CHECK_EVERY === 0;
    await new Promise<void>((resolve) => {
      calls.set(stream, {
        received: 0,
        chunks: keep ? [] : undefined,
        done(success, why) {
          if (!calls.delete(stream)) return;
          if (success && keep) {
            const body = Buffer.concat(this.chunks!);
            try {
              load.check(body.subarray(5, 5 + body.readUInt32BE(1)));
              checked++;
            } catch (err) {
              failure ??= err as Error;
            }
          }
          if (success) ok++;
          else {
            errors++;
            lastError = why ?? 'failed';
          }
          resolve();
        },
      });
      socket.write(bytes);
    });
  };
  const started = performance.now();
  const until = started + load.seconds * 1000;
  const worker = async () => {
    while (performance.now() < until && !failure) await call();
  };
  try {
    await Promise.all(Array.from({ length: load.concurrency }, worker));
  } finally {
    socket.end(frame(GOAWAY, 0, 0, Buffer.alloc(8)));
  }
  const seconds = (performance.now() - started) / 1000;
  if (failure) throw failure;
  if (checked === 0) throw new Error(`gRPC ${load.path}: no answer checked (${errors} errors, last: ${lastError})`);
  if (errors > ok * 0.001) throw new Error(`gRPC ${load.path}: ${errors} errors against ${ok} ok (last: ${lastError})`);
  return { perSecond: ok / seconds, ok, errors };
}
