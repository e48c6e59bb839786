import { endianness } from 'node:os';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { writeWholeResponse } from './response-writer.js';

/**
 * A fast serializer for modelmora.v1.InferenceResponse that writes the same bytes as the generic
 * (protobufjs) one. The generic encoder turns every float of an embedding into a JS number and a
 * writer op object: ~200 ms and a storm of garbage for a 3 MiB answer. But the packed encoding of
 * `repeated float` IS the little-endian float32 buffer, so the large fields (Embedding.values,
 * EmbeddingBatch, image_data) are written here straight from the runner's Float32Array /
 * Uint8Array; the small rest (model_id, text, custom_data, metadata, error) still goes through the
 * generic serializer and the two are spliced. Field order matches protobufjs (by field number),
 * so the bytes are equal to the generic encoder's. inferenceResponseDeserializer is the same idea
 * for a client reading such answers.
 */

type Serialize = (value: unknown) => Buffer;
type Deserialize = (bytes: Buffer) => unknown;

/** OutputData field numbers (inference.proto) of the oneof slots written here. */
const EMBEDDING = 1;
const EMBEDDING_BATCH = 2;
const IMAGE_DATA = 5;
/** InferenceResponse.output_data. */
const OUTPUT_DATA = 2;
const LENGTH_DELIMITED = 2;

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The InferenceService definition with its InferenceResponse methods on the fast serializer.
 * `allocate` gives the buffer an answer is written into (LentBuffer when the caller copies it).
 */
export function withFastResponses(definition: ServiceDefinition, allocate?: (size: number) => Buffer): ServiceDefinition {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    out[name] = responseTypeName(method) === 'InferenceResponse' ? { ...method, responseSerialize: inferenceResponseSerializer(method.responseSerialize as Serialize, allocate) } : method;
  }
  return out;
}

/**
 * The client's side: the InferenceService definition (from proto-loader) with its InferenceResponse
 * methods on the fast decoder, so embeddings arrive as Float32Arrays rather than number arrays.
 */
export function withFastDecoding(definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    out[name] = responseTypeName(method) === 'InferenceResponse' ? { ...method, responseDeserialize: inferenceResponseDeserializer(method.responseDeserialize as Deserialize) } : method;
  }
  return out;
}

/** proto-loader puts the response's DescriptorProto on each method (not in grpc-js's type). */
function responseTypeName(method: MethodDefinition<unknown, unknown>): string | undefined {
  const type = (method as { responseType?: { type?: { name?: unknown } } }).responseType?.type;
  return typeof type?.name === 'string' ? type.name : undefined;
}

/** Wraps the generic serializer; messages without a large field go to it untouched. */
export function inferenceResponseSerializer(generic: Serialize, allocate?: (size: number) => Buffer): Serialize {
  return (value: unknown) => {
    const message = value as { output_data?: Record<string, unknown> | null } | null;
    if (message === null || typeof message !== 'object') return generic(value);
    const output = message.output_data;
    const large = output ? largeField(output) : undefined;
    // The usual answer (an embedding or an image, nothing else) is written whole, by hand.
    const whole = writeWholeResponse(message as Record<string, unknown>, large, output != null && hasOtherOutput(output, large?.key), allocate);
    if (whole) return whole;
    if (!output || !large) return generic(value);
    const { [large.key]: _taken, ...small } = output;
    const rest = generic({ ...message, output_data: small });
    return splice(rest, large.parts, large.size);
  };
}

/** Whether output_data sets anything besides its large slot (custom_data, text, image_url). */
function hasOtherOutput(output: Record<string, unknown>, largeKey: string | undefined): boolean {
  for (const key in output) {
    if (key !== largeKey && output[key] != null) return true;
  }
  return false;
}

interface LargeField {
  key: string;
  /** The field's bytes in order: headers and payloads, never copied until the final write. */
  parts: Uint8Array[];
  size: number;
}

/** The set large oneof slot of OutputData as wire parts, or undefined when there is none. */
function largeField(output: Record<string, unknown>): LargeField | undefined {
  const embedding = output['embedding'] as { values?: ArrayLike<number> | null } | null | undefined;
  if (embedding) return field('embedding', EMBEDDING, embeddingParts(embedding.values));
  const batch = output['embedding_batch'] as { embeddings?: ({ values?: ArrayLike<number> | null } | null)[] | null } | null | undefined;
  if (batch) {
    const parts: Uint8Array[] = [];
    for (const item of batch.embeddings ?? []) {
      // EmbeddingBatch.embeddings (field 1), each an Embedding message.
      const inner = embeddingParts(item?.values);
      parts.push(header(1, byteLength(inner)), ...inner);
    }
    return field('embedding_batch', EMBEDDING_BATCH, parts);
  }
  const image = output['image_data'];
  if (image instanceof Uint8Array) return field('image_data', IMAGE_DATA, image.length > 0 ? [image] : []);
  return undefined;
}

function field(key: string, number: number, payload: Uint8Array[]): LargeField {
  const parts = [header(number, byteLength(payload)), ...payload];
  return { key, parts, size: byteLength(parts) };
}

/** Embedding: `values` (field 1, packed float), left out when empty as proto3 does. */
function embeddingParts(values: ArrayLike<number> | null | undefined): Uint8Array[] {
  if (!values || values.length === 0) return [];
  const floats = floatBytes(values);
  return [header(1, floats.length), floats];
}

/** The packed float32 payload: the array's own bytes on a little-endian host (no copy). */
function floatBytes(values: ArrayLike<number>): Uint8Array {
  if (values instanceof Float32Array && LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

/**
 * `rest` is the generic encoding without the large field. Its output_data (field 2) is written
 * again with the large field first, the slot with the lowest number, then the small fields
 * that followed it; every other field is copied as it was.
 */
function splice(rest: Buffer, large: Uint8Array[], largeSize: number): Buffer {
  // The top-level fields of InferenceResponse are all length-delimited (string or message).
  let at = 0;
  let outputStart = -1;
  let outputEnd = -1;
  let smallStart = 0;
  while (at < rest.length) {
    const start = at;
    const tag = readVarint(rest, at);
    const length = readVarint(rest, tag.next);
    if ((tag.value & 7) !== LENGTH_DELIMITED) throw new Error('InferenceResponse: unexpected wire type');
    at = length.next + length.value;
    if (tag.value >>> 3 === OUTPUT_DATA) {
      outputStart = start;
      smallStart = length.next;
      outputEnd = at;
    }
  }
  if (outputStart < 0) throw new Error('InferenceResponse: output_data missing from the generic encoding');
  const smallSize = outputEnd - smallStart;
  const head = header(OUTPUT_DATA, largeSize + smallSize);
  const out = Buffer.allocUnsafe(rest.length - (smallStart - outputStart) + head.length + largeSize);
  let w = rest.copy(out, 0, 0, outputStart);
  out.set(head, w);
  w += head.length;
  for (const part of large) {
    out.set(part, w);
    w += part.length;
  }
  w += rest.copy(out, w, smallStart, rest.length);
  if (w !== out.length) throw new Error('InferenceResponse: spliced length mismatch');
  return out;
}

/** A length-delimited field's tag and length. */
function header(number: number, length: number): Uint8Array {
  const bytes: number[] = [];
  writeVarint(bytes, (number << 3) | LENGTH_DELIMITED);
  writeVarint(bytes, length);
  return Uint8Array.from(bytes);
}

function writeVarint(bytes: number[], value: number): void {
  // Lengths stay below 2^32 (gRPC caps a message far lower), so plain arithmetic is exact.
  while (value > 0x7f) {
    bytes.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  bytes.push(value);
}

function readVarint(buf: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    const byte = buf[i]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value, next: i + 1 };
    scale *= 0x80;
  }
  throw new Error('InferenceResponse: truncated varint');
}

/**
 * The client's mirror: decodes an InferenceResponse as the generic decoder does, except that
 * Embedding.values come back as Float32Arrays read from the packed bytes in one copy (the generic
 * decoder reads them one float at a time into a number array: ~50 ms for 3 MiB). Anything it
 * does not expect (another wire type, a second oneof slot) goes to the generic decoder whole.
 */
export function inferenceResponseDeserializer(generic: Deserialize): Deserialize {
  return (bytes: Buffer) => {
    const top = fields(bytes, 0, bytes.length);
    const output = top?.find((f) => f.number === OUTPUT_DATA);
    if (!top || !output || top.some((f) => f.wireType !== LENGTH_DELIMITED)) return generic(bytes);
    const inner = fields(bytes, output.valueStart, output.end);
    const slots = inner?.filter((f) => f.number >= EMBEDDING && f.number <= IMAGE_DATA);
    const large = slots?.length === 1 && slots[0]!.wireType === LENGTH_DELIMITED && slots[0]!.number <= EMBEDDING_BATCH ? slots[0]! : undefined;
    if (!inner || !large) return generic(bytes);
    let value: { values: Float32Array } | { embeddings: { values: Float32Array }[] } | undefined;
    if (large.number === EMBEDDING) {
      const packed = packedValues(bytes, large.valueStart, large.end);
      value = packed && { values: floatViews(bytes, [packed])[0]! };
    } else {
      const items = fields(bytes, large.valueStart, large.end);
      const packed = items?.every((f) => f.number === 1 && f.wireType === LENGTH_DELIMITED)
        ? items.map((f) => packedValues(bytes, f.valueStart, f.end))
        : undefined;
      value = packed?.every((p) => p !== undefined) ? { embeddings: floatViews(bytes, packed as WireField[][]).map((values) => ({ values })) } : undefined;
    }
    if (!value) return generic(bytes);
    // The rest of the message without the large slot, through the generic decoder.
    const small = inner.filter((f) => f !== large);
    const smallSize = small.reduce((n, f) => n + f.end - f.start, 0);
    const head = header(OUTPUT_DATA, smallSize);
    const restSize = bytes.length - (output.end - output.start) + head.length + smallSize;
    const rest = Buffer.allocUnsafe(restSize);
    let w = bytes.copy(rest, 0, 0, output.start);
    rest.set(head, w);
    w += head.length;
    for (const f of small) w += bytes.copy(rest, w, f.start, f.end);
    bytes.copy(rest, w, output.end);
    const message = generic(rest) as { output_data: Record<string, unknown> };
    const key = large.number === EMBEDDING ? 'embedding' : 'embedding_batch';
    message.output_data[key] = value;
    message.output_data['data'] = key;
    return message;
  };
}

interface WireField {
  number: number;
  wireType: number;
  /** The tag's first byte, the value's first byte, the byte after the field. */
  start: number;
  valueStart: number;
  end: number;
}

/** The fields of a message in buf[from, to), or undefined when it is not well formed. */
function fields(buf: Uint8Array, from: number, to: number): WireField[] | undefined {
  const out: WireField[] = [];
  let at = from;
  try {
    while (at < to) {
      const start = at;
      const tag = readVarint(buf, at);
      const wireType = tag.value & 7;
      let valueStart = tag.next;
      let end: number;
      if (wireType === LENGTH_DELIMITED) {
        const length = readVarint(buf, tag.next);
        valueStart = length.next;
        end = length.next + length.value;
      } else if (wireType === 0) end = readVarint(buf, tag.next).next;
      else if (wireType === 1) end = tag.next + 8;
      else if (wireType === 5) end = tag.next + 4;
      else return undefined;
      if (end > to) return undefined;
      out.push({ number: Math.floor(tag.value / 8), wireType, start, valueStart, end });
      at = end;
    }
  } catch {
    return undefined;
  }
  return out;
}

/** The packed chunks of Embedding.values in the Embedding message buf[from, to), or undefined when malformed. */
function packedValues(buf: Uint8Array, from: number, to: number): WireField[] | undefined {
  const parts = fields(buf, from, to);
  if (!parts) return undefined;
  const packed = parts.filter((f) => f.number === 1);
  if (packed.some((f) => f.wireType !== LENGTH_DELIMITED || (f.end - f.valueStart) % 4 !== 0)) return undefined;
  return packed;
}

/**
 * The values of each embedding (its packed chunks joined) as views of ONE Float32Array: one
 * allocation and one copy per answer rather than one per embedding, so a 32-embedding answer
 * makes one external buffer for the garbage collector to track, not 32.
 */
function floatViews(buf: Uint8Array, embeddings: readonly WireField[][]): Float32Array[] {
  const counts = embeddings.map((packed) => packed.reduce((n, f) => n + (f.end - f.valueStart) / 4, 0));
  const all = new Float32Array(counts.reduce((a, b) => a + b, 0));
  const target = new Uint8Array(all.buffer);
  let w = 0;
  for (const packed of embeddings) {
    for (const f of packed) {
      target.set(buf.subarray(f.valueStart, f.end), w);
      w += f.end - f.valueStart;
    }
  }
  if (!LITTLE_ENDIAN) {
    const view = new DataView(all.buffer);
    for (let i = 0; i < all.length; i++) all[i] = view.getFloat32(i * 4, true);
  }
  let at = 0;
  return counts.map((n) => {
    const values = all.subarray(at, at + n);
    at += n;
    return values;
  });
}

function byteLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}
