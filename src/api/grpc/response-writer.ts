import { varintSize } from '../../domain/varint.js';

/**
 * The whole of a plain InferenceResponse written by hand in one buffer: model_id, the output's
 * large slot (embedding, embedding_batch or image_data, as response-codec.ts lays it out) and the
 * metadata. That is every Infer answer of an embedding or image model, and the generic path for
 * it (protobufjs fromObject + encode of the small fields, then a splice) costs several times the
 * write itself per call. Anything else (custom_data, text, an error, values the generic encoder
 * would convert) answers undefined and goes the generic way. The bytes equal the generic
 * encoder's: fields by number, and a field present in the object is written even at its default,
 * as protobufjs does.
 */

/** The OutputData large slot as response-codec.ts builds it: its wire parts (tag included). */
export interface WireParts {
  parts: Uint8Array[];
  size: number;
}

const MODEL_ID = 0x0a; // field 1, length-delimited
const OUTPUT_DATA = 0x12; // field 2
const METADATA = 0x1a; // field 3
const INFERENCE_TIME = 0x09; // InferenceMetadata field 1, 64-bit
const TOTAL_TIME = 0x11; // field 2, 64-bit
const BATCH_SIZE = 0x18; // field 3, varint
const DEVICE = 0x22; // field 4, length-delimited
const TIMESTAMP = 0x2a; // field 5, length-delimited
const SECONDS = 0x08; // Timestamp field 1, varint
const NANOS = 0x10; // Timestamp field 2, varint

const INT32_LIMIT = 2 ** 31;

interface PlainMetadata {
  inference_time_ms?: unknown;
  total_time_ms?: unknown;
  batch_size?: unknown;
  device?: unknown;
  timestamp?: { seconds?: unknown; nanos?: unknown } | null;
}

/**
 * `large` is the output's large slot, undefined when output_data holds none; `otherOutput` says
 * output_data holds something else too (then the generic path runs).
 */
export function writeWholeResponse(
  message: Record<string, unknown>,
  large: WireParts | undefined,
  otherOutput: boolean,
  allocate: (size: number) => Buffer = Buffer.allocUnsafe,
): Buffer | undefined {
  if (otherOutput || message['error'] != null) return undefined;
  const modelId = message['model_id'];
  if (modelId != null && !isAscii(modelId)) return undefined;
  const metadata = message['metadata'] as PlainMetadata | null | undefined;
  const meta = metadata == null ? undefined : metadataSize(metadata);
  if (meta === null) return undefined;
  const hasOutput = message['output_data'] != null;

  let size = 0;
  if (typeof modelId === 'string') size += 1 + varintSize(modelId.length) + modelId.length;
  if (hasOutput) size += 1 + varintSize(large?.size ?? 0) + (large?.size ?? 0);
  if (meta !== undefined) size += 1 + varintSize(meta.size) + meta.size;

  const out = allocate(size);
  let at = 0;
  if (typeof modelId === 'string') {
    at = writeVarint(out, writeVarint(out, at, MODEL_ID), modelId.length);
    at += out.write(modelId, at, 'latin1');
  }
  if (hasOutput) {
    at = writeVarint(out, writeVarint(out, at, OUTPUT_DATA), large?.size ?? 0);
    for (const part of large?.parts ?? []) {
      out.set(part, at);
      at += part.length;
    }
  }
  if (meta !== undefined) at = writeMetadata(out, writeVarint(out, writeVarint(out, at, METADATA), meta.size), metadata!, meta.timestamp);
  if (at !== size) throw new Error('InferenceResponse: written length mismatch');
  return out;
}

/**
 * One buffer lent to every answer the gRPC server writes, for a serializer whose caller copies
 * the bytes before it serializes again: grpc-js frames each message into a new buffer of its own
 * (server-interceptors.js serializeMessage) at once. A fresh buffer per multi-megabyte answer
 * only fed the collector: answers in flight outlive two scavenges, and every promoted buffer
 * waits for a full mark-compact (bench/FINDINGS.md). Answers over `maxBytes` get their own buffer, so one huge answer is not kept.
 */
export class LentBuffer {
  private buffer = Buffer.alloc(0);

  constructor(private readonly maxBytes: number) {}

  readonly take = (size: number): Buffer => {
    if (size > this.maxBytes) return Buffer.allocUnsafe(size);
    if (this.buffer.length < size) this.buffer = Buffer.allocUnsafe(Math.max(size, Math.min(this.maxBytes, this.buffer.length * 2)));
    return this.buffer.subarray(0, size);
  };
}

/** Bytes of InferenceMetadata and of its Timestamp; null when a value needs the generic encoder. */
function metadataSize(m: PlainMetadata): { size: number; timestamp: number | undefined } | null {
  let size = 0;
  for (const value of [m.inference_time_ms, m.total_time_ms]) {
    if (typeof value === 'number') size += 9;
    else if (value != null) return null;
  }
  if (m.batch_size != null) {
    if (!isUint31(m.batch_size)) return null;
    size += 1 + varintSize(m.batch_size);
  }
  if (m.device != null) {
    if (!isAscii(m.device)) return null;
    size += 1 + varintSize(m.device.length) + m.device.length;
  }
  let timestamp: number | undefined;
  if (m.timestamp != null) {
    const { seconds, nanos } = m.timestamp;
    timestamp = 0;
    if (seconds != null) {
      if (!(typeof seconds === 'number' && Number.isSafeInteger(seconds) && seconds >= 0)) return null;
      timestamp += 1 + varintSize(seconds);
    }
    if (nanos != null) {
      if (!isUint31(nanos)) return null;
      timestamp += 1 + varintSize(nanos);
    }
    size += 1 + varintSize(timestamp) + timestamp;
  }
  return { size, timestamp };
}

function writeMetadata(out: Buffer, at: number, m: PlainMetadata, timestamp: number | undefined): number {
  if (typeof m.inference_time_ms === 'number') at = out.writeDoubleLE(m.inference_time_ms, writeVarint(out, at, INFERENCE_TIME));
  if (typeof m.total_time_ms === 'number') at = out.writeDoubleLE(m.total_time_ms, writeVarint(out, at, TOTAL_TIME));
  if (typeof m.batch_size === 'number') at = writeVarint(out, writeVarint(out, at, BATCH_SIZE), m.batch_size);
  if (typeof m.device === 'string') {
    at = writeVarint(out, writeVarint(out, at, DEVICE), m.device.length);
    at += out.write(m.device, at, 'latin1');
  }
  if (timestamp !== undefined) {
    const { seconds, nanos } = m.timestamp!;
    at = writeVarint(out, writeVarint(out, at, TIMESTAMP), timestamp);
    if (typeof seconds === 'number') at = writeVarint(out, writeVarint(out, at, SECONDS), seconds);
    if (typeof nanos === 'number') at = writeVarint(out, writeVarint(out, at, NANOS), nanos);
  }
  return at;
}

/** ASCII strings: one byte per character, so UTF-8 and latin1 write the same bytes. */
function isAscii(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return false;
  return true;
}

function isUint31(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < INT32_LIMIT;
}

/** Non-negative integers up to 2^53 (safe integers): the varint protobufjs writes for them. */
function writeVarint(out: Buffer, at: number, value: number): number {
  while (value > 0x7f) {
    out[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[at++] = value;
  return at;
}
