import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { toErrorMessage, toInferenceResponse, toTokenResponse } from '../../../src/api/grpc/messages.js';
import { inferenceResponseDeserializer, inferenceResponseSerializer, withFastDecoding, withFastResponses } from '../../../src/api/grpc/response-codec.js';
import { LentBuffer } from '../../../src/api/grpc/response-writer.js';
import { PROTO_FILES, PROTO_OPTIONS } from '../../../src/api/grpc/server.js';
import { ModelMoraError } from '../../../src/domain/errors.js';
import type { InferenceResult, ItemOutput } from '../../../src/domain/inference.js';

// The generic protobufjs encoder and decoder, from the repo's protos as any client builds them.
const service = loadSync(PROTO_FILES, PROTO_OPTIONS)['modelmora.v1.InferenceService'] as ServiceDefinition;
const infer = service['Infer'] as MethodDefinition<unknown, unknown>;
const generic = (message: unknown) => infer.responseSerialize(message);
const decode = (bytes: Buffer) => infer.responseDeserialize(bytes);
const fast = inferenceResponseSerializer(generic);
const fastDecode = inferenceResponseDeserializer(decode);
const now = new Date('2026-01-02T03:04:05.678Z');

function result(outputs: ItemOutput[], batched = false): InferenceResult {
  return { modelId: 'org/model', taskType: 'txt2embed', batched, outputs, metadata: { inference_time_ms: 12.5, total_time_ms: 20.25, batch_size: outputs.length, device: 'cpu' } };
}

function floats(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.sin(i * 0.37 + seed) * 1000;
  return out;
}

/** The message as the generic encoder accepts it: Float32Arrays as number arrays. */
function genericShape(message: unknown): unknown {
  if (message instanceof Float32Array) return Array.from(message);
  if (message instanceof Uint8Array || message === null || typeof message !== 'object') return message;
  if (Array.isArray(message)) return message.map(genericShape);
  return Object.fromEntries(Object.entries(message).map(([k, v]) => [k, genericShape(v)]));
}

/** The generic decoder's answer with Embedding.values as the fast decoder gives them. */
function withFloat32(decoded: unknown): unknown {
  const output = (decoded as { output_data?: Record<string, { values?: number[]; embeddings?: { values: number[] }[] }> | null }).output_data;
  const embedding = output?.['embedding'];
  if (embedding?.values) embedding.values = Float32Array.from(embedding.values) as unknown as number[];
  for (const item of output?.['embedding_batch']?.embeddings ?? []) item.values = Float32Array.from(item.values) as unknown as number[];
  return decoded;
}

function assertSame(message: unknown): Buffer {
  const mine = fast(message);
  const theirs = generic(genericShape(message));
  assert.deepEqual(decode(mine), decode(theirs));
  assert.ok(mine.equals(theirs), 'bytes equal to the generic encoder');
  assert.deepEqual(fastDecode(mine), withFloat32(decode(theirs)));
  return mine;
}

describe('InferenceResponse fast serializer', () => {
  test('a single embedding: same bytes, values decode to the float32 values', () => {
    const values = floats(1000, 1);
    values[0] = NaN;
    values[1] = -0;
    values[2] = Infinity;
    values[3] = -3.4028234663852886e38;
    const message = toInferenceResponse(result([{ kind: 'embedding', embedding: values }]), now, 'req-1');
    const bytes = assertSame(message);
    const decoded = decode(bytes) as { output_data: { data: string; embedding: { values: number[] }; custom_data: unknown }; metadata: { batch_size: number } };
    assert.equal(decoded.output_data.data, 'embedding');
    assert.deepEqual(Float32Array.from(decoded.output_data.embedding.values), values);
    assert.ok(Object.is(decoded.output_data.embedding.values[1], -0));
    assert.equal(decoded.metadata.batch_size, 1);
  });

  test('a 3 MiB embedding (786,432 floats) and a number[] embedding', () => {
    assertSame(toInferenceResponse(result([{ kind: 'embedding', embedding: floats(786_432, 2) }]), now));
    assertSame(toInferenceResponse(result([{ kind: 'embedding', embedding: [0.1, -2.5, 3e-8] }]), now));
  });

  test('an embedding batch of 32 x 24,576 floats, and one with an empty embedding', () => {
    const outputs: ItemOutput[] = Array.from({ length: 32 }, (_, i) => ({ kind: 'embedding', embedding: floats(24_576, i) }));
    const bytes = assertSame(toInferenceResponse(result(outputs, true), now, 'batch-7'));
    const decoded = decode(bytes) as { output_data: { embedding_batch: { embeddings: { values: number[] }[] } } };
    assert.equal(decoded.output_data.embedding_batch.embeddings.length, 32);
    assert.deepEqual(Float32Array.from(decoded.output_data.embedding_batch.embeddings[31]!.values), floats(24_576, 31));
    assertSame(toInferenceResponse(result([{ kind: 'embedding', embedding: new Float32Array(0) }, { kind: 'embedding', embedding: floats(3, 0) }], true), now));
    assertSame(toInferenceResponse(result([{ kind: 'embedding', embedding: new Float32Array(0) }]), now));
  });

  test('a Float32Array view into a larger buffer writes only its own floats', () => {
    const backing = floats(100, 3);
    const view = backing.subarray(10, 20);
    assertSame(toInferenceResponse(result([{ kind: 'embedding', embedding: view }]), now));
  });

  test('text, token pieces and batched texts (custom_data) go through unchanged', () => {
    assertSame(toInferenceResponse(result([{ kind: 'text', text: 'héllo wörld' }]), now, 'r'));
    assertSame(toInferenceResponse(result([{ kind: 'text', text: 'a' }, { kind: 'text', text: 'b' }], true), now));
    assertSame(toTokenResponse('org/model', 'piece', 2, 'r9'));
  });

  test('image_data, an empty image, and batched images', () => {
    const png = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);
    const bytes = assertSame(toInferenceResponse(result([{ kind: 'image', png, width: 8, height: 8 }]), now, 'img'));
    assert.deepEqual(new Uint8Array((decode(bytes) as { output_data: { image_data: Buffer } }).output_data.image_data), png);
    assertSame(toInferenceResponse(result([{ kind: 'image', png: new Uint8Array(0), width: 1, height: 1 }]), now));
    assertSame(toInferenceResponse(result([{ kind: 'image', png, width: 8, height: 8 }, { kind: 'image', png: png.subarray(5, 9), width: 1, height: 1 }], true), now));
  });

  test('answers written whole: defaults, absent parts and values only the generic encoder takes', () => {
    const plain = toInferenceResponse(result([{ kind: 'embedding', embedding: floats(100, 5) }]), now) as unknown as Record<string, unknown>;
    const metadata = plain['metadata'] as Record<string, unknown>;
    assertSame(plain);
    // Present at their defaults: written (as protobufjs writes them), epoch 0 included.
    assertSame({ ...plain, model_id: '', metadata: { ...metadata, batch_size: 0, device: '', inference_time_ms: 0, timestamp: { seconds: 0, nanos: 0 } } });
    assertSame({ ...plain, metadata: null });
    assertSame({ ...plain, metadata: { device: 'cpu' } });
    assertSame({ ...plain, output_data: null });
    assertSame({ ...plain, output_data: {} });
    assertSame({ model_id: 'm', output_data: { embedding: {} }, metadata: null, error: null });
    // Not ASCII, a negative int32, a large timestamp: the generic path, same bytes.
    assertSame({ ...plain, model_id: 'org/modèl', metadata: { ...metadata, device: 'gpü' } });
    assertSame({ ...plain, metadata: { ...metadata, batch_size: -1, timestamp: { seconds: 2 ** 40, nanos: 999_999_999 } } });
  });

  test('an error answer', () => {
    const err = new ModelMoraError('VALIDATION_ERROR', 'Request validation failed', { fieldErrors: [{ field: 'input_data.text', message: 'is required' }] });
    assertSame({ model_id: 'org/model', output_data: null, metadata: null, error: toErrorMessage(err, 'trace-1', 'r2') });
  });

  test('the fast decoder joins packed chunks and leaves unexpected shapes to the generic decoder', () => {
    // Embedding.values in two packed chunks (legal protobuf), then custom_data: field 10.
    const chunk = (values: number[]) => Buffer.concat([Buffer.from([0x0a, values.length * 4]), Buffer.from(new Float32Array(values).buffer)]);
    const embedding = Buffer.concat([chunk([1.5, 2]), chunk([-3])]);
    const custom = (generic({ output_data: { custom_data: { fields: { k: { stringValue: 'v' } } } } }) as Buffer).subarray(2);
    const outputData = Buffer.concat([Buffer.from([0x0a, embedding.length]), embedding, custom]);
    const bytes = Buffer.concat([Buffer.from([0x0a, 1, 0x6d, 0x12, outputData.length]), outputData]);
    const mine = fastDecode(bytes) as { model_id: string; output_data: { data: string; embedding: { values: Float32Array }; custom_data: unknown } };
    assert.equal(mine.model_id, 'm');
    assert.equal(mine.output_data.data, 'embedding');
    assert.deepEqual(mine.output_data.embedding.values, new Float32Array([1.5, 2, -3]));
    assert.deepEqual(mine.output_data.custom_data, (decode(bytes) as { output_data: { custom_data: unknown } }).output_data.custom_data);
    // Unpacked floats (wire type 5) are legal too: the generic decoder reads them.
    const unpacked = Buffer.from([0x12, 7, 0x0a, 5, 0x0d, 0, 0, 0xc0, 0x3f]);
    assert.deepEqual(fastDecode(unpacked), decode(unpacked));
    assert.deepEqual((fastDecode(unpacked) as { output_data: { embedding: { values: number[] } } }).output_data.embedding.values, [1.5]);
  });

  test('the fast decoder gives a batch its embeddings as views of one Float32Array, equal to the generic decoding', () => {
    const outputs: ItemOutput[] = [floats(7, 1), new Float32Array(0), floats(5, 2)].map((embedding) => ({ kind: 'embedding', embedding }));
    // Bytes from the generic encoder: the decoder does not depend on the fast serializer's output.
    const bytes = generic(genericShape(toInferenceResponse(result(outputs, true), now, 'views'))) as Buffer;
    const mine = fastDecode(bytes) as { output_data: { embedding_batch: { embeddings: { values: Float32Array }[] } } };
    assert.deepEqual(mine, withFloat32(decode(bytes)));
    const [a, b, c] = mine.output_data.embedding_batch.embeddings.map((e) => e.values);
    assert.deepEqual([a!.length, b!.length, c!.length], [7, 0, 5]);
    assert.equal(a!.buffer, c!.buffer);
    assert.notEqual(a!.buffer, bytes.buffer, 'a copy: the values outlive the received bytes');
  });

  test('withFastDecoding puts the InferenceResponse methods on the fast decoder, the others keep theirs', () => {
    const patched = withFastDecoding(service);
    const bytes = fast(toInferenceResponse(result([{ kind: 'embedding', embedding: floats(10, 4) }]), now));
    for (const name of ['Infer', 'InferStream', 'GetJobResult']) assert.deepEqual(patched[name]!.responseDeserialize(bytes), fastDecode(bytes), name);
    for (const name of ['InferAsync', 'GetJobStatus', 'CancelJob']) assert.equal(patched[name]!.responseDeserialize, service[name]!.responseDeserialize, name);
  });

  test('the service definition: Infer, InferStream and GetJobResult get it, the others keep theirs', () => {
    const patched = withFastResponses(service);
    const message = toInferenceResponse(result([{ kind: 'embedding', embedding: floats(10, 4) }]), now);
    for (const name of ['Infer', 'InferStream', 'GetJobResult']) assert.ok(patched[name]!.responseSerialize(message).equals(fast(message)), name);
    for (const name of ['InferAsync', 'GetJobStatus', 'CancelJob']) assert.equal(patched[name]!.responseSerialize, service[name]!.responseSerialize, name);
  });
  test('with a lent buffer every answer is written into the same memory, its bytes as the generic encoder writes them', () => {
    const lent = new LentBuffer(64 * 1024);
    const serialize = inferenceResponseSerializer(generic, lent.take);
    const first = toInferenceResponse(result([{ kind: 'embedding', embedding: floats(1000, 1) }]), now);
    const second = toInferenceResponse(result([{ kind: 'embedding', embedding: floats(1000, 2) }]), now);
    const a = serialize(first);
    assert.ok(a.equals(generic(genericShape(first))));
    const aCopy = Buffer.from(a);
    const b = serialize(second);
    assert.ok(b.equals(generic(genericShape(second))));
    assert.equal(b.buffer, a.buffer, 'the same memory again');
    assert.ok(!a.equals(aCopy), 'so the caller must copy an answer before the next one is written');
    const big = toInferenceResponse(result([{ kind: 'embedding', embedding: floats(20_000, 3) }]), now);
    const c = serialize(big);
    assert.ok(c.equals(generic(genericShape(big))));
    assert.notEqual(c.buffer, a.buffer, 'an answer over the limit gets a buffer of its own');
    assert.equal(serialize(first).buffer, a.buffer, 'and the lent buffer is kept at its size');
  });
});
