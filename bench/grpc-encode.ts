// Encode time of a 3 MiB InferenceResponse (one 786,432-float embedding, and a batch of
// 32 x 24,576), before and after the fast serializer, alternating runs, warm-ups excluded.
// "before" is what the daemon did: Float32Array -> number[] (Array.from) then protobufjs;
// "after" is the InferenceService's serializer (response-codec.ts) on the Float32Array.
// Also the client side: the generic decoder against inferenceResponseDeserializer.
// Run: npx tsc -p . && node dist/bench/grpc-encode.js
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { toInferenceResponse } from '../src/api/grpc/messages.js';
import { inferenceResponseDeserializer, withFastResponses } from '../src/api/grpc/response-codec.js';
import { PROTO_FILES, PROTO_OPTIONS } from '../src/api/grpc/server.js';
import type { InferenceResult, ItemOutput } from '../src/domain/inference.js';

const RUNS = 7;
const WARMUPS = 2;

const service = loadSync(PROTO_FILES, PROTO_OPTIONS)['modelmora.v1.InferenceService'] as ServiceDefinition;
const generic = (service['InferStream'] as MethodDefinition<unknown, unknown>).responseSerialize;
const fast = (withFastResponses(service)['InferStream'] as MethodDefinition<unknown, unknown>).responseSerialize;
const genericDecode = (service['InferStream'] as MethodDefinition<unknown, unknown>).responseDeserialize;
const fastDecode = inferenceResponseDeserializer(genericDecode);

function floats(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.sin(i * 0.37 + seed);
  return out;
}

function result(outputs: ItemOutput[], batched: boolean): InferenceResult {
  return { modelId: 'bench/model', taskType: 'txt2embed', batched, outputs, metadata: { inference_time_ms: 1, total_time_ms: 2, batch_size: outputs.length, device: 'cpu' } };
}

/** The old builder's shape: every Float32Array as a JS number array. */
function asNumbers(message: unknown): unknown {
  if (message instanceof Float32Array) return Array.from(message);
  if (message instanceof Uint8Array || message === null || typeof message !== 'object') return message;
  if (Array.isArray(message)) return message.map(asNumbers);
  return Object.fromEntries(Object.entries(message).map(([k, v]) => [k, asNumbers(v)]));
}

const cases: { name: string; result: InferenceResult }[] = [
  { name: 'embedding 786,432 floats', result: result([{ kind: 'embedding', embedding: floats(786_432, 1) }], false) },
  { name: 'embedding_batch 32 x 24,576', result: result(Array.from({ length: 32 }, (_, i) => ({ kind: 'embedding' as const, embedding: floats(24_576, i) })), true) },
];

const encoded = new Map(cases.map(({ result: r }) => [r, fast(toInferenceResponse(r, new Date(), 'req'))]));
/** Each way returns the bytes it handled. */
const ways = {
  'encode before': (r: InferenceResult) => generic(asNumbers(toInferenceResponse(r, new Date(), 'req'))).length,
  'encode after': (r: InferenceResult) => fast(toInferenceResponse(r, new Date(), 'req')).length,
  'decode generic': (r: InferenceResult) => (genericDecode(encoded.get(r)!), encoded.get(r)!.length),
  'decode fast': (r: InferenceResult) => (fastDecode(encoded.get(r)!), encoded.get(r)!.length),
};
type Way = keyof typeof ways;
const WAYS = Object.keys(ways) as Way[];

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
};
const ms = (x: number) => x.toFixed(1).padStart(7);

console.log(`| case | way | bytes | median ms | min | max | MB/s (median) |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const { name, result: r } of cases) {
  const times = Object.fromEntries(WAYS.map((w) => [w, [] as number[]])) as Record<Way, number[]>;
  let bytes = 0;
  for (let run = 0; run < WARMUPS + RUNS; run++) {
    for (const way of WAYS) {
      const start = process.hrtime.bigint();
      bytes = ways[way](r);
      const took = Number(process.hrtime.bigint() - start) / 1e6;
      if (run >= WARMUPS) times[way].push(took);
    }
  }
  for (const way of WAYS) {
    const t = stats(times[way]);
    console.log(`| ${name} | ${way} | ${bytes} | ${ms(t.median)} | ${ms(t.min)} | ${ms(t.max)} | ${(bytes / 1e6 / (t.median / 1000)).toFixed(0)} |`);
  }
}
