import { pipeline, type ImageFeatureExtractionPipeline, type Tensor } from '@huggingface/transformers';
import { ModelMoraError } from '../../domain/errors.js';
import type { ItemOutput } from '../../domain/inference.js';
import type { LoadSpec, RunnerBatch } from '../../domain/runner.js';
import { decodeBatchImages } from './image-decode.js';
import type { TaskHandler } from './index.js';
import { l2Normalize } from './txt2embed.js';
import { checkModelFolder, configBoolean, configureOffline, pickDtype, sessionOptions } from './transformers-setup.js';

/** `cls`: the first token (ViT, DINOv2 CLS); `mean`: the mean of the other (patch) tokens. */
export type ImagePooling = 'cls' | 'mean';

export interface Img2EmbedConfig {
  pooling: ImagePooling;
  normalize: boolean;
}

export function parseImg2EmbedConfig(config: Record<string, unknown>): Img2EmbedConfig {
  const pooling = config.pooling ?? 'cls';
  if (pooling !== 'cls' && pooling !== 'mean') {
    throw new ModelMoraError('MODEL_LOAD_FAILED', `config.pooling must be 'cls' or 'mean', got '${String(pooling)}'`);
  }
  return { pooling, normalize: configBoolean(config, 'normalize', true) };
}

/** transformers.js `image-feature-extraction` (ViT, DINOv2, CLIP vision folders), batched. */
export async function loadImg2Embed(spec: LoadSpec): Promise<TaskHandler> {
  const config = parseImg2EmbedConfig(spec.config);
  checkModelFolder(spec);
  configureOffline();
  const extractor = (await pipeline('image-feature-extraction', spec.folder, {
    local_files_only: true,
    dtype: pickDtype(spec),
    device: 'cpu',
    session_options: sessionOptions(spec),
  })) as ImageFeatureExtractionPipeline;
  return new Img2EmbedHandler(extractor, config);
}

class Img2EmbedHandler implements TaskHandler {
  constructor(
    private readonly extractor: ImageFeatureExtractionPipeline,
    private readonly config: Img2EmbedConfig,
  ) {}

  async run(batch: RunnerBatch): Promise<ItemOutput[]> {
    const normalize = batch.parameters.normalize ?? this.config.normalize;
    if (typeof normalize !== 'boolean') throw new ModelMoraError('INVALID_INPUT', 'parameters.normalize must be true or false');
    const images = await decodeBatchImages(batch);
    if (images.length === 0) return [];
    // One processor call and one graph run for the whole batch: the processor resizes every
    // image to the model's input size, so they stack.
    const { pixel_values } = (await this.extractor.processor(images)) as { pixel_values: Tensor };
    const outputs = (await this.extractor.model({ pixel_values })) as Record<string, Tensor | undefined>;
    const pooled = outputs.image_embeds ?? outputs.pooler_output;
    const vectors =
      outputs.last_hidden_state && outputs.last_hidden_state.dims.length === 3
        ? poolTokens(outputs.last_hidden_state, this.config.pooling)
        : pooled
          ? rows(pooled)
          : undefined;
    if (!vectors) throw new ModelMoraError('INFERENCE_FAILED', 'The model has no last_hidden_state, pooler_output or image_embeds output');
    return vectors.map((v) => ({ kind: 'embedding', embedding: normalize ? l2Normalize(v) : v }));
  }

  async dispose(): Promise<void> {
    await this.extractor.dispose();
  }
}

function floats(tensor: Tensor): Float32Array {
  return tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data as ArrayLike<number>, Number);
}

function rows(tensor: Tensor): Float32Array[] {
  const [count = 0, dim = 0] = tensor.dims;
  const data = floats(tensor);
  return Array.from({ length: count }, (_, i) => data.slice(i * dim, (i + 1) * dim));
}

/** [batch, tokens, dim] -> one vector per image: token 0 (cls) or the mean of tokens 1.. (mean). */
export function poolTokens(hidden: Tensor, pooling: ImagePooling): Float32Array[] {
  const [count = 0, tokens = 0, dim = 0] = hidden.dims;
  const data = floats(hidden);
  return Array.from({ length: count }, (_, i) => {
    const start = i * tokens * dim;
    if (pooling === 'cls' || tokens < 2) return data.slice(start, start + dim);
    const sum = new Float64Array(dim);
    for (let t = 1; t < tokens; t++) for (let k = 0; k < dim; k++) sum[k]! += data[start + t * dim + k]!;
    return Float32Array.from(sum, (x) => x / (tokens - 1));
  });
}
