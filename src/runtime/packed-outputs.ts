import type { ItemOutput } from '../domain/inference.js';
import { varintSize } from '../domain/varint.js';
import type { ChildMessage } from './messages.js';

/**
 * How a batch's outputs cross the runner -> daemon IPC. txt2embed pools a batch into views of
 * one Float32Array; Node's `advanced` serialization writes each view as its own typed array,
 * and the daemon deserializes each into its own buffer (a copy whenever the view's bytes land
 * unaligned in the message). Sent as one span of that buffer plus a range per item, the daemon
 * gets one typed array per batch (a view of the received bytes when aligned) and cuts the
 * items' views from it. Outputs that do not share a buffer travel as they are.
 */
export type PackedOutput = ItemOutput | { kind: 'embedding-range'; offset: number; length: number };

export interface PackedOutputs {
  outputs: PackedOutput[];
  /** The floats the `embedding-range` outputs index into (offsets in floats). */
  floats?: Float32Array;
}

export function packOutputs(outputs: ItemOutput[]): PackedOutputs {
  const views = outputs.flatMap((o) => (o.kind === 'embedding' && o.embedding instanceof Float32Array && o.embedding.length > 0 ? [o.embedding] : []));
  if (views.length < 2) return { outputs };
  const buffer = views[0]!.buffer;
  if (views.some((v) => v.buffer !== buffer)) return { outputs };
  let start = Infinity;
  let end = 0;
  let floats = 0;
  for (const v of views) {
    start = Math.min(start, v.byteOffset);
    end = Math.max(end, v.byteOffset + v.byteLength);
    floats += v.length;
  }
  // Only a span with no bytes beyond the items' own: nothing else of the buffer is sent.
  if ((end - start) / 4 !== floats) return { outputs };
  const span = new Float32Array(buffer, start, floats);
  return {
    floats: span,
    outputs: outputs.map((o) =>
      o.kind === 'embedding' && o.embedding instanceof Float32Array && o.embedding.length > 0
        ? { kind: 'embedding-range', offset: (o.embedding.byteOffset - start) / 4, length: o.embedding.length }
        : o,
    ),
  };
}

/** The daemon's side: the items' outputs, embedding ranges as views of `floats`. */
export function unpackOutputs(packed: PackedOutputs): ItemOutput[] {
  const { floats } = packed;
  return packed.outputs.map((o) => {
    if (o.kind !== 'embedding-range') return o;
    if (!floats || o.offset < 0 || o.offset + o.length > floats.length) throw new RangeError('embedding range outside the result floats');
    return { kind: 'embedding', embedding: floats.subarray(o.offset, o.offset + o.length) };
  });
}

/**
 * The runner's result message, laid out so that a large `floats` lands on a 4-byte boundary of
 * the IPC message. Node's deserializer then hands the daemon a view of the received bytes;
 * unaligned, it copies them into a buffer of their own (internal/child_process/serialization.js
 * with v8's DefaultSerializer), and each extra multi-megabyte buffer feeds the daemon's
 * collector.
 *
 * The layout, from the start of the message Node frames (and reads into a fresh buffer): a
 * 4-byte length, the serializer header (2 bytes), the object tag (1), the key `pad` (5) and its
 * string (2 + p bytes), the key `floats` (8), the host-object tag (1), Node's view tag (1), the
 * view's type (1) and its byte length (a varint); then the floats. So p is chosen to make
 * 25 + p + varint length a multiple of 4. Should a Node release lay messages out otherwise, the
 * answer is still right and only copied (test/unit/runtime/packed-outputs.test.ts forks a child
 * to check the view).
 */
export function resultMessage(id: number, outputs: ItemOutput[], inferenceMs: number): ChildMessage {
  const { floats, outputs: packed } = packOutputs(outputs);
  if (!floats) return { type: 'result', id, outputs: packed, inferenceMs };
  const before = 25 + varintSize(floats.byteLength);
  return { pad: ' '.repeat((4 - (before % 4)) % 4), floats, type: 'result', id, outputs: packed, inferenceMs };
}
