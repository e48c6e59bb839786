import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { InferenceSession, type Tensor } from 'onnxruntime-node';
import { ModelMoraError } from '../../domain/errors.js';
import { clipInputIds, loadClipTokenizer } from './clip-tokenizer.js';
import { gaussian } from './gaussian.js';
import { createScheduler, parseSchedulerConfig, type SchedulerConfig } from './scheduler.js';
import { sessionOptions as ortOptions } from '../session-options.js';
import { floatData, floatTensor, inputOf, numberTensor, type TensorMetadata } from './tensors.js';

/**
 * Text-to-image for a diffusion model in the Hugging Face ONNX layout, as diffusers'
 * OnnxStableDiffusionPipeline runs it: CLIP tokens padded to 77 -> text encoder (plus the
 * unconditional embedding for classifier-free guidance) -> seeded latents -> the scheduler loop
 * with one unet call per step (guided rows batched with the conditional ones) -> latents /
 * scaling_factor -> VAE decoder -> RGB.
 */

export interface DiffusionLoadOptions {
  threads?: number;
  spin?: boolean;
  /** Overrides scheduler_config.json's `_class_name` (EulerDiscreteScheduler or DDIMScheduler). */
  schedulerClass?: string;
  /** Overrides vae_decoder/config.json's scaling_factor. */
  vaeScalingFactor?: number;
}

export interface GenerateRequest {
  prompts: string[];
  negativePrompt: string;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  /** One seed per prompt. */
  seeds: number[];
}

export interface RgbImage {
  /** Interleaved RGB, row-major, width * height * 3 bytes. */
  rgb: Uint8Array;
  width: number;
  height: number;
}

export interface GenerateHooks {
  signal?: AbortSignal;
  /** After each scheduler step, 1..total. */
  onStep?: (step: number, total: number) => void;
}

const SEQUENCE = 77;
const DEFAULT_SCALING_FACTOR = 0.18215;
const PARTS = ['text_encoder', 'unet', 'vae_decoder'] as const;

async function readJsonIfPresent(file: string): Promise<Record<string, unknown>> {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', `${path.basename(path.dirname(file))}/${path.basename(file)} is not valid JSON`, { cause: err });
  }
}

export class DiffusionPipeline {
  private constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly textEncoder: InferenceSession,
    private readonly unet: InferenceSession,
    private readonly vae: InferenceSession,
    readonly scheduler: SchedulerConfig,
    readonly scalingFactor: number,
    /** Native size from unet/config.json's sample_size (x8), else 512. */
    readonly defaultSize: number,
  ) {}

  static async load(folder: string, options: DiffusionLoadOptions = {}): Promise<DiffusionPipeline> {
    for (const part of PARTS) {
      if (!existsSync(path.join(folder, part, 'model.onnx'))) {
        throw new ModelMoraError('MODEL_LOAD_FAILED', `${part}/model.onnx is missing (expected the Hugging Face ONNX diffusion layout)`);
      }
    }
    const schedulerJson = await readJsonIfPresent(path.join(folder, 'scheduler', 'scheduler_config.json'));
    if (Object.keys(schedulerJson).length === 0) throw new ModelMoraError('MODEL_LOAD_FAILED', 'scheduler/scheduler_config.json is missing');
    const scheduler = parseSchedulerConfig(schedulerJson, options.schedulerClass);
    const vaeConfig = await readJsonIfPresent(path.join(folder, 'vae_decoder', 'config.json'));
    const unetConfig = await readJsonIfPresent(path.join(folder, 'unet', 'config.json'));
    const scalingFactor = options.vaeScalingFactor ?? (typeof vaeConfig['scaling_factor'] === 'number' ? vaeConfig['scaling_factor'] : DEFAULT_SCALING_FACTOR);
    const sampleSize = unetConfig['sample_size'];
    const defaultSize = typeof sampleSize === 'number' && Number.isInteger(sampleSize) && sampleSize > 0 ? sampleSize * 8 : 512;

    const tokenizer = await loadClipTokenizer(path.join(folder, 'tokenizer'));
    const sessionOptions: InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      ...ortOptions({ threads: options.threads, spin: options.spin }),
    };
    const sessions: InferenceSession[] = [];
    try {
      for (const part of PARTS) sessions.push(await InferenceSession.create(path.join(folder, part, 'model.onnx'), sessionOptions));
    } catch (err) {
      await Promise.all(sessions.map((s) => s.release()));
      if (err instanceof ModelMoraError) throw err;
      throw new ModelMoraError('MODEL_LOAD_FAILED', `onnxruntime could not load ${PARTS[sessions.length]}/model.onnx`, { cause: err });
    }
    const [textEncoder, unet, vae] = sessions as [InferenceSession, InferenceSession, InferenceSession];
    const pipeline = new DiffusionPipeline(tokenizer, textEncoder, unet, vae, scheduler, scalingFactor, defaultSize);
    try {
      pipeline.checkGraphs();
    } catch (err) {
      await pipeline.dispose();
      throw err;
    }
    return pipeline;
  }

  /** Fail the load, not the first request, when a graph is not the SD shape this runs. */
  private checkGraphs(): void {
    inputOf(this.textEncoder, 'input_ids', 'text_encoder');
    for (const name of ['sample', 'timestep', 'encoder_hidden_states']) inputOf(this.unet, name, 'unet');
    const extra = this.unet.inputNames.filter((n) => !['sample', 'timestep', 'encoder_hidden_states'].includes(n));
    if (extra.length > 0) {
      throw new ModelMoraError('MODEL_LOAD_FAILED', `unet/model.onnx takes extra inputs (${extra.join(', ')}); only Stable Diffusion 1.x/2.x-style unets are supported`);
    }
    inputOf(this.vae, 'latent_sample', 'vae_decoder');
  }

  get latentChannels(): number {
    const channels = inputOf(this.unet, 'sample', 'unet').shape[1];
    return typeof channels === 'number' ? channels : 4;
  }

  async generate(request: GenerateRequest, hooks: GenerateHooks = {}): Promise<RgbImage[]> {
    const { prompts, width, height, steps, guidanceScale } = request;
    const count = prompts.length;
    if (count === 0) return [];
    const plan = createScheduler(this.scheduler, steps);
    const guided = guidanceScale > 1;

    const cond = await this.encode(prompts);
    // Unconditional rows first, as diffusers concatenates [negative, positive].
    const embeddings = guided ? concat([repeat(await this.encode([request.negativePrompt]), count), cond]) : cond;
    const hidden = embeddings.length / ((guided ? 2 : 1) * count * SEQUENCE);

    const channels = this.latentChannels;
    const latentH = height / 8;
    const latentW = width / 8;
    const perItem = channels * latentH * latentW;
    let latents: Float32Array = new Float32Array(count * perItem);
    request.seeds.forEach((seed, i) => latents.set(gaussian(seed, perItem), i * perItem));
    latents = latents.map((x) => x * plan.initNoiseSigma);

    const rows = (guided ? 2 : 1) * count;
    const sampleMeta = inputOf(this.unet, 'sample', 'unet');
    const timestepMeta = inputOf(this.unet, 'timestep', 'unet');
    const textMeta = inputOf(this.unet, 'encoder_hidden_states', 'unet');
    const textTensor = floatTensor(textMeta.type, embeddings, [rows, SEQUENCE, hidden]);
    const outputName = this.unet.outputNames[0]!;

    for (let index = 0; index < plan.timesteps.length; index++) {
      if (hooks.signal?.aborted) throw new ModelMoraError('CANCELLED', 'Image generation was cancelled');
      const input = guided ? concat([latents, latents]) : latents;
      const scaled = plan.scaleModelInput(input, index);
      const t = plan.timesteps[index]!;
      const out = await this.unet.run({
        sample: floatTensor(sampleMeta.type, scaled, [rows, channels, latentH, latentW]),
        timestep: numberTensor(timestepMeta.type, timestepValues(timestepMeta, t, rows), timestepDims(timestepMeta, rows)),
        encoder_hidden_states: textTensor,
      });
      const noise = floatData(out[outputName]!);
      const prediction = guided ? guide(noise, count * perItem, guidanceScale) : noise;
      latents = plan.step(prediction, index, latents);
      hooks.onStep?.(index + 1, plan.timesteps.length);
    }

    const images: RgbImage[] = [];
    for (let i = 0; i < count; i++) {
      if (hooks.signal?.aborted) throw new ModelMoraError('CANCELLED', 'Image generation was cancelled');
      images.push(await this.decode(latents.subarray(i * perItem, (i + 1) * perItem), channels, latentH, latentW));
    }
    return images;
  }

  /** Token ids padded (and truncated) to 77 -> the encoder's last_hidden_state, flattened. */
  private async encode(texts: string[]): Promise<Float32Array> {
    const ids = clipInputIds(this.tokenizer, texts, SEQUENCE);
    const meta = inputOf(this.textEncoder, 'input_ids', 'text_encoder');
    const out = await this.textEncoder.run({ input_ids: numberTensor(meta.type, ids, [texts.length, SEQUENCE]) });
    const hidden = out['last_hidden_state'] ?? out[this.textEncoder.outputNames[0]!];
    if (!hidden || hidden.dims.length !== 3) throw new ModelMoraError('INFERENCE_FAILED', 'text_encoder gave no [batch, 77, hidden] output');
    return Float32Array.from(floatData(hidden));
  }

  /** One image at a time, as diffusers' ONNX pipeline decodes (and so a batch equals single runs). */
  private async decode(latents: Float32Array, channels: number, latentH: number, latentW: number): Promise<RgbImage> {
    const meta = inputOf(this.vae, 'latent_sample', 'vae_decoder');
    const scaled = latents.map((x) => x / this.scalingFactor);
    const out = await this.vae.run({ latent_sample: floatTensor(meta.type, scaled, [1, channels, latentH, latentW]) });
    const sample: Tensor | undefined = out['sample'] ?? out[this.vae.outputNames[0]!];
    const [, planes, height, width] = sample?.dims ?? [];
    if (!sample || planes !== 3 || height !== latentH * 8 || width !== latentW * 8) {
      throw new ModelMoraError('INFERENCE_FAILED', 'vae_decoder did not give a [1, 3, 8h, 8w] image');
    }
    return toRgb(floatData(sample), width, height);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.textEncoder.release(), this.unet.release(), this.vae.release()]);
  }
}

function timestepDims(meta: TensorMetadata, rows: number): number[] {
  if (meta.shape.length === 0) return [];
  return meta.shape[0] === 1 ? [1] : [rows];
}

function timestepValues(meta: TensorMetadata, t: number, rows: number): number[] {
  const dims = timestepDims(meta, rows);
  return new Array<number>(dims[0] ?? 1).fill(t);
}

/** noise = [uncond; cond] -> uncond + scale * (cond - uncond). */
function guide(noise: Float32Array, half: number, scale: number): Float32Array {
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const u = noise[i]!;
    out[i] = u + scale * (noise[half + i]! - u);
  }
  return out;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function repeat(part: Float32Array, times: number): Float32Array {
  return concat(new Array<Float32Array>(times).fill(part));
}

/** [3, H, W] in -1..1 -> interleaved RGB bytes: clip(x / 2 + 0.5, 0, 1) * 255, rounded. */
function toRgb(planar: Float32Array, width: number, height: number): RgbImage {
  const plane = width * height;
  const rgb = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.min(1, Math.max(0, planar[c * plane + p]! / 2 + 0.5));
      rgb[p * 3 + c] = Math.round(v * 255);
    }
  }
  return { rgb, width, height };
}
