import { existsSync } from 'node:fs';
import path from 'node:path';
import { pipeline, type FeatureExtractionPipeline, type Tensor } from '@huggingface/transformers';
import { ModelMoraError } from '../../domain/errors.js';
import type { ItemOutput } from '../../domain/inference.js';
import type { LoadSpec, RunnerBatch } from '../../domain/runner.js';
import type { TaskHandler } from './index.js';
import { checkModelFolder, configureOffline, sessionOptions } from './transformers-setup.js';

export type Pooling = 'mean' | 'cls';

export interface Txt2EmbedConfig {
  pooling: Pooling;
  normalize: boolean;
  /** Tokens per text after truncation; undefined keeps the tokenizer's own limit. */
  maxLength: number | undefined;
  /** onnxruntime weights variant; undefined picks from the files present. */
  dtype: 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | undefined;
}

const DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4'] as const;

/** Reads the model's `config` (modelmora.yaml / registry); a bad value fails the load, not a request. */
export function parseTxt2EmbedConfig(config: Record<string, unknown>): Txt2EmbedConfig {
  const pooling = config.pooling ?? 'mean';
  if (pooling !== 'mean' && pooling !== 'cls') {
    throw new ModelMoraError('MODEL_LOAD_FAILED', `config.pooling must be 'mean' or 'cls', got '${String(pooling)}'`);
  }
  const normalize = config.normalize ?? true;
  if (typeof normalize !== 'boolean') {
    throw new ModelMoraError('MODEL_LOAD_FAILED', 'config.normalize must be true or false');
  }
  const maxLength = config.max_length;
  if (maxLength !== undefined && !(Number.isInteger(maxLength) && (maxLength as number) > 0)) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', 'config.max_length must be a positive integer');
  }
  const dtype = config.dtype;
  if (dtype !== undefined && !(DTYPES as readonly unknown[]).includes(dtype)) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', `config.dtype must be one of ${DTYPES.join(', ')}`);
  }
  return {
    pooling,
    normalize,
    maxLength: maxLength as number | undefined,
    dtype: dtype as Txt2EmbedConfig['dtype'],
  };
}

/** Without a declared dtype, use the full-precision graph if shipped, else the quantised one. */
function pickDtype(folder: string, declared: Txt2EmbedConfig['dtype']): Txt2EmbedConfig['dtype'] {
  if (declared) return declared;
  if (existsSync(path.join(folder, 'onnx', 'model.onnx'))) return 'fp32';
  if (existsSync(path.join(folder, 'onnx', 'model_quantized.onnx'))) return 'q8';
  return 'fp32';
}

export async function loadTxt2Embed(spec: LoadSpec): Promise<TaskHandler> {
  const config = parseTxt2EmbedConfig(spec.config);
  checkModelFolder(spec);
  configureOffline();
  // An absolute path is not a valid Hub id, so transformers.js reads the folder as is.
  const extractor = (await pipeline('feature-extraction', spec.folder, {
    local_files_only: true,
    dtype: pickDtype(spec.folder, config.dtype),
    device: 'cpu',
    session_options: sessionOptions(spec),
  })) as FeatureExtractionPipeline;
  return new Txt2EmbedHandler(extractor, config);
}

class Txt2EmbedHandler implements TaskHandler {
  constructor(
    private readonly extractor: FeatureExtractionPipeline,
    private readonly config: Txt2EmbedConfig,
  ) {}

  async run(batch: RunnerBatch): Promise<ItemOutput[]> {
    const texts = batch.items.map((item, i) => {
      if (item.kind !== 'text') throw new ModelMoraError('INVALID_INPUT', `Input ${i} is not text; this model embeds text`);
      return item.text;
    });
    if (texts.length === 0) return [];
    const normalize = batch.parameters.normalize ?? this.config.normalize;
    if (typeof normalize !== 'boolean') throw new ModelMoraError('INVALID_INPUT', 'parameters.normalize must be true or false');

    // Tokenize and run the graph ourselves (rather than extractor(texts, ...)) to honour
    // max_length, which the pipeline call does not expose.
    const inputs = this.extractor.tokenizer(texts, {
      padding: true,
      truncation: true,
      max_length: this.config.maxLength ?? null,
    }) as { input_ids: Tensor; attention_mask: Tensor };
    const outputs = (await this.extractor.model(inputs)) as Record<string, Tensor | undefined>;
    const hidden = outputs.last_hidden_state ?? outputs.token_embeddings ?? outputs.sentence_embedding ?? outputs.logits;
    if (!hidden) throw new ModelMoraError('INFERENCE_FAILED', 'The model has no last_hidden_state output');

    const vectors =
      hidden.dims.length === 2
        ? rows(hidden) // already pooled by the graph (sentence-transformers exports)
        : pool(hidden, inputs.attention_mask, this.config.pooling);
    // The vectors are this call's own (pool and rows copy out of the tensor): normalised in place.
    return vectors.map((v) => ({ kind: 'embedding', embedding: normalize ? normalizeInPlace(v) : v }));
  }

  async dispose(): Promise<void> {
    await this.extractor.dispose();
  }
}

function floatData(tensor: Tensor): Float32Array {
  const data = tensor.data;
  if (data instanceof Float32Array) return data;
  return Float32Array.from(data as ArrayLike<number>, Number);
}

function rows(tensor: Tensor): Float32Array[] {
  const [count = 0, dim = 0] = tensor.dims;
  const data = floatData(tensor);
  // One copy for the whole batch (the tensor's buffer belongs to onnxruntime's output), then views.
  const all = data.slice(0, count * dim);
  return Array.from({ length: count }, (_, i) => all.subarray(i * dim, (i + 1) * dim));
}

/**
 * Pools each row using only its own unmasked tokens, so a text padded inside a batch gets the
 * same vector as alone. Sums in float64 in token order, like a single call. The vectors are
 * views of one Float32Array of count x dim, owned by the caller (normalizeInPlace may write
 * them): one allocation per batch rather than a float64 scratch and a result per row.
 */
export function pool(hidden: Tensor, attentionMask: Tensor, pooling: Pooling): Float32Array[] {
  const [count = 0, seqLength = 0, dim = 0] = hidden.dims;
  const data = floatData(hidden);
  const mask = attentionMask.data as ArrayLike<number | bigint>;
  const all = new Float32Array(count * dim);
  const out: Float32Array[] = [];
  const offsets = new Int32Array(seqLength);
  for (let i = 0; i < count; i++) {
    const rowStart = i * seqLength * dim;
    const vector = all.subarray(i * dim, (i + 1) * dim);
    out.push(vector);
    if (pooling === 'cls') {
      vector.set(data.subarray(rowStart, rowStart + dim));
      continue;
    }
    let tokens = 0;
    for (let t = 0; t < seqLength; t++) {
      if (Number(mask[i * seqLength + t]) !== 0) offsets[tokens++] = rowStart + t * dim;
    }
    if (tokens > 0) meanOfRows(data, offsets, tokens, vector);
  }
  return out;
}

/**
 * vector[k] = mean over j < tokens of data[offsets[j] + k], summed in a float64 register in
 * token order: the same sums as a float64 accumulator array, without its memory traffic.
 */
function meanOfRows(data: Float32Array, offsets: Int32Array, tokens: number, vector: Float32Array): void {
  const dim = vector.length;
  for (let k = 0; k < dim; k++) {
    let sum = 0;
    for (let j = 0; j < tokens; j++) sum += data[offsets[j]! + k]!;
    vector[k] = sum / tokens;
  }
}

/** Unit L2 norm in a new array; an all-zero vector (no known token) stays zero rather than NaN. */
export function l2Normalize(vector: Float32Array): Float32Array {
  return normalizeInPlace(vector.slice());
}

/** l2Normalize writing over `vector` (which the caller owns); answers `vector`. */
export function normalizeInPlace(vector: Float32Array): Float32Array {
  let squares = 0;
  for (let k = 0; k < vector.length; k++) {
    const x = vector[k]!;
    squares += x * x;
  }
  const norm = Math.sqrt(squares);
  if (norm === 0) return vector;
  for (let k = 0; k < vector.length; k++) vector[k] = vector[k]! / norm;
  return vector;
}
