import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ModelMoraError } from '../../domain/errors.js';
import type { ItemOutput } from '../../domain/inference.js';
import type { LoadSpec, RunnerBatch } from '../../domain/runner.js';
import { sessionOptions } from '../session-options.js';
import type { TaskHandler } from './index.js';
import { checkModelFolder, DTYPES, onnxFile, pickDtype, type Dtype } from './model-folder.js';
import { TextTokenizer } from './text-tokenizer.js';

export type Pooling = 'mean' | 'cls';

export interface Txt2EmbedConfig {
  pooling: Pooling;
  normalize: boolean;
  /** Tokens per text after truncation; undefined keeps the tokenizer's own limit. */
  maxLength: number | undefined;
  /** onnxruntime weights variant; undefined picks from the files present. */
  dtype: Dtype | undefined;
}

/** A tensor as far as pooling needs it: onnxruntime's and transformers.js' both fit. */
export interface TensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** What an encoder-only text graph takes; anything else goes through transformers.js. */
const ENCODER_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids']);
/** The output holding per-token (or pooled) vectors, in order of preference. */
const HIDDEN_OUTPUTS = ['last_hidden_state', 'token_embeddings', 'sentence_embedding', 'logits'];

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

/** Turns a batch of texts into hidden states: [texts, tokens, dim], or [texts, dim] if pooled. */
export interface TextEncoder {
  encode(texts: string[], maxLength: number | undefined): Promise<{ hidden: TensorLike; mask: TensorLike }>;
  dispose(): Promise<void>;
}

/**
 * Opens the graph in onnxruntime by its path (no copy of the weights through a JS buffer) while
 * the tokenizer parses, so the two overlap. An encoder-only graph then runs directly; a graph
 * that wants more inputs (a decoder's position ids, caches) is handed to transformers.js, which
 * knows how to feed it, at the cost of importing it.
 */
export async function loadTxt2Embed(spec: LoadSpec): Promise<TaskHandler> {
  const config = parseTxt2EmbedConfig(spec.config);
  checkModelFolder(spec);
  const file = onnxFile(spec, pickDtype(spec));
  const [session, tokenizer] = await Promise.all([
    InferenceSession.create(file, { logSeverityLevel: 3, ...sessionOptions(spec) }),
    TextTokenizer.load(spec.folder),
  ]);
  if (!session.inputNames.every((name) => ENCODER_INPUTS.has(name)) || !session.inputNames.includes('input_ids')) {
    await session.release();
    const { loadPipelineEncoder } = await import('./txt2embed-pipeline.js');
    return new Txt2EmbedHandler(await loadPipelineEncoder(spec, config), config);
  }
  return new Txt2EmbedHandler(new OnnxTextEncoder(session, tokenizer), config);
}

class OnnxTextEncoder implements TextEncoder {
  private readonly output: string;

  constructor(
    private readonly session: InferenceSession,
    private readonly tokenizer: TextTokenizer,
  ) {
    const output = HIDDEN_OUTPUTS.find((name) => session.outputNames.includes(name));
    if (!output) throw new ModelMoraError('MODEL_LOAD_FAILED', 'The model has no last_hidden_state output');
    this.output = output;
  }

  async encode(texts: string[], maxLength: number | undefined): Promise<{ hidden: TensorLike; mask: TensorLike }> {
    const { inputIds, attentionMask, dims } = this.tokenizer.encode(texts, maxLength);
    const mask = new Tensor('int64', attentionMask, dims);
    const feeds: Record<string, Tensor> = { input_ids: new Tensor('int64', inputIds, dims) };
    if (this.session.inputNames.includes('attention_mask')) feeds.attention_mask = mask;
    // One text per row: every token is in segment 0, as transformers.js feeds it.
    if (this.session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new Tensor('int64', new BigInt64Array(inputIds.length), dims);
    // Only the output used: onnxruntime then skips whatever feeds the others alone.
    const outputs = await this.session.run(feeds, [this.output]);
    return { hidden: outputs[this.output]!, mask };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

class Txt2EmbedHandler implements TaskHandler {
  constructor(
    private readonly encoder: TextEncoder,
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

    const { hidden, mask } = await this.encoder.encode(texts, this.config.maxLength);
    const vectors =
      hidden.dims.length === 2
        ? rows(hidden) // already pooled by the graph (sentence-transformers exports)
        : pool(hidden, mask, this.config.pooling);
    // The vectors are this call's own (pool and rows copy out of the tensor): normalised in place.
    return vectors.map((v) => ({ kind: 'embedding', embedding: normalize ? normalizeInPlace(v) : v }));
  }

  async dispose(): Promise<void> {
    await this.encoder.dispose();
  }
}

function floatData(tensor: TensorLike): Float32Array {
  const data = tensor.data;
  if (data instanceof Float32Array) return data;
  if (!ArrayBuffer.isView(data) && !Array.isArray(data)) throw new ModelMoraError('INFERENCE_FAILED', 'The model output is not numeric');
  return Float32Array.from(data as ArrayLike<number>, Number);
}

function rows(tensor: TensorLike): Float32Array[] {
  const [count = 0, dim = 0] = tensor.dims;
  const data = floatData(tensor);
  // Views of the output itself when it is exactly the batch: onnxruntime-node hands each run's
  // output over in an ArrayBuffer of its own, so normalizing in place touches nothing shared,
  // and a multi-megabyte answer is not copied once more. Otherwise one copy for the batch.
  const all = data.length === count * dim ? data : data.slice(0, count * dim);
  return Array.from({ length: count }, (_, i) => all.subarray(i * dim, (i + 1) * dim));
}

/**
 * Pools each row using only its own unmasked tokens, so a text padded inside a batch gets the
 * same vector as alone. Sums in float64 in token order, like a single call. The vectors are
 * views of one Float32Array of count x dim, owned by the caller (normalizeInPlace may write
 * them): one allocation per batch rather than a float64 scratch and a result per row.
 */
export function pool(hidden: TensorLike, attentionMask: TensorLike, pooling: Pooling): Float32Array[] {
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
