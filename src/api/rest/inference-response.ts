import type { InferenceResult, ItemOutput } from '../../domain/inference.js';
import type { ImageRef } from './artifacts.js';
import { float32ArrayJson, float32Numbers } from './float32-json.js';

/*
 * The one place a REST inference answer (sync or a job's result) becomes its wire shape. The
 * float fast path (inferenceResponseJson, which writes float32 embeddings without an array of
 * numbers) sits behind this seam; its parity test holds it to JSON.stringify(toInferenceResponse).
 */

/**
 * The document's InferenceResponse: output_data keyed by what the outputs are. `images` says how
 * each image goes back (placeImages); without it images are inline base64.
 */
export function toInferenceResponse(result: InferenceResult, images?: readonly ImageRef[]): {
  model_id: string;
  output_data: Record<string, unknown>;
  metadata: InferenceResult['metadata'];
} {
  const output: Record<string, unknown> = {};
  const of = <K extends ItemOutput['kind']>(kind: K) => result.outputs.filter((o): o is Extract<ItemOutput, { kind: K }> => o.kind === kind);
  const embeddings = of('embedding').map((o) => float32Numbers(o.embedding));
  const texts = of('text').map((o) => o.text);
  const refs = images ?? of('image').map((o): ImageRef => ({ image_base64: Buffer.from(o.png).toString('base64') }));
  if (embeddings.length > 0) {
    if (result.batched) output['embeddings'] = embeddings;
    else output['embedding'] = embeddings[0];
  }
  if (texts.length > 0) {
    if (result.batched) output['texts'] = texts;
    else output['text'] = texts[0];
  }
  if (refs.length > 0) {
    if (!result.batched) Object.assign(output, refs[0]);
    else if (refs.every((r) => 'image_base64' in r)) output['images_base64'] = refs.map((r) => r.image_base64);
    else output['image_urls'] = refs.map((r) => ('image_url' in r ? r.image_url : undefined));
  }
  return { model_id: result.modelId, output_data: output, metadata: result.metadata };
}

/**
 * JSON.stringify(toInferenceResponse(result, images)), the same text, with float32 embeddings
 * written by float32ArrayJson instead of going through an array of numbers.
 */
export function inferenceResponseJson(result: InferenceResult, images?: readonly ImageRef[]): string {
  const vectors: Float32Array[] = [];
  for (const output of result.outputs) {
    if (output.kind !== 'embedding') continue;
    if (!(output.embedding instanceof Float32Array)) return JSON.stringify(toInferenceResponse(result, images));
    vectors.push(output.embedding);
  }
  if (vectors.length === 0) return JSON.stringify(toInferenceResponse(result, images));
  const embeddings = result.batched ? `"embeddings":[${vectors.map(float32ArrayJson).join(',')}]` : `"embedding":${float32ArrayJson(vectors[0]!)}`;
  // The other outputs (texts, images) as toInferenceResponse writes them; embeddings come first there.
  const others =
    vectors.length === result.outputs.length
      ? '{}'
      : JSON.stringify(toInferenceResponse({ ...result, outputs: result.outputs.filter((o) => o.kind !== 'embedding') }, images).output_data);
  const output = others === '{}' ? `{${embeddings}}` : `{${embeddings},${others.slice(1)}`;
  return `{"model_id":${JSON.stringify(result.modelId)},"output_data":${output},"metadata":${JSON.stringify(result.metadata)}}`;
}

