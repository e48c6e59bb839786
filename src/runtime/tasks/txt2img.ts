import { randomInt } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { ModelMoraError } from '../../domain/errors.js';
import type { ItemOutput } from '../../domain/inference.js';
import type { LoadSpec, RunnerBatch } from '../../domain/runner.js';
import { MAX_SEED, readTxt2ImgParameters } from '../../domain/txt2img-parameters.js';
import { DiffusionPipeline, type RgbImage } from '../diffusion/pipeline.js';
import type { TaskContext, TaskHandler } from './index.js';

/**
 * txt2img: prompt(s) -> PNG through the diffusion pipeline. All prompts of a runner batch share
 * its parameters (the batcher groups by parameters) and run as one unet batch per step; every
 * prompt uses the request's seed, so an image does not depend on what it was batched with (two
 * prompts with one seed start from the same noise).
 */

export interface Txt2ImgConfig {
  /** EulerDiscreteScheduler or DDIMScheduler (also 'euler' / 'ddim'); default the model's own. */
  scheduler: string | undefined;
  steps: number;
  guidanceScale: number;
  vaeScalingFactor: number | undefined;
}

const SCHEDULER_ALIASES: Record<string, string> = { euler: 'EulerDiscreteScheduler', ddim: 'DDIMScheduler' };

/** The model's `config` (modelmora.yaml / registry): its defaults. Bad values fail the load. */
export function parseTxt2ImgConfig(config: Record<string, unknown>): Txt2ImgConfig {
  const scheduler = config['scheduler'];
  if (scheduler !== undefined && typeof scheduler !== 'string') throw new ModelMoraError('MODEL_LOAD_FAILED', 'config.scheduler must be a scheduler class name');
  let defaults;
  try {
    defaults = readTxt2ImgParameters({ steps: config['steps'], guidance_scale: config['guidance_scale'] });
  } catch (err) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', `config: ${err instanceof Error ? err.message : 'invalid defaults'}`);
  }
  const scaling = config['vae_scaling_factor'];
  if (scaling !== undefined && !(typeof scaling === 'number' && scaling > 0)) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', 'config.vae_scaling_factor must be a positive number');
  }
  return {
    scheduler: scheduler === undefined ? undefined : (SCHEDULER_ALIASES[scheduler.toLowerCase()] ?? scheduler),
    // diffusers' defaults.
    steps: defaults.steps ?? 50,
    guidanceScale: defaults.guidanceScale ?? 7.5,
    vaeScalingFactor: scaling as number | undefined,
  };
}

export async function loadTxt2Img(spec: LoadSpec): Promise<TaskHandler> {
  const config = parseTxt2ImgConfig(spec.config);
  if (!path.isAbsolute(spec.folder) || !existsSync(spec.folder) || !statSync(spec.folder).isDirectory()) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', `The files of model '${spec.modelId}' are missing from the cache`);
  }
  const pipeline = await DiffusionPipeline.load(spec.folder, {
    ...(spec.threads ? { threads: spec.threads } : {}),
    ...(spec.spin ? { spin: true } : {}),
    ...(config.scheduler ? { schedulerClass: config.scheduler } : {}),
    ...(config.vaeScalingFactor ? { vaeScalingFactor: config.vaeScalingFactor } : {}),
  });
  return new Txt2ImgHandler(pipeline, config);
}

class Txt2ImgHandler implements TaskHandler {
  constructor(
    private readonly pipeline: DiffusionPipeline,
    private readonly config: Txt2ImgConfig,
  ) {}

  async run(batch: RunnerBatch, context: TaskContext): Promise<ItemOutput[]> {
    const prompts = batch.items.map((item, i) => {
      if (item.kind !== 'text') throw new ModelMoraError('INVALID_INPUT', `Input ${i} is not text; this model draws from a text prompt`);
      return item.text;
    });
    if (prompts.length === 0) return [];
    const parameters = readTxt2ImgParameters(batch.parameters);
    const size = this.pipeline.defaultSize;
    const images = await this.pipeline.generate(
      {
        prompts,
        negativePrompt: parameters.negativePrompt ?? '',
        width: parameters.width ?? size,
        height: parameters.height ?? size,
        steps: parameters.steps ?? this.config.steps,
        guidanceScale: parameters.guidanceScale ?? this.config.guidanceScale,
        // Without a seed each prompt gets its own random one, so unrelated requests batched together differ.
        seeds: prompts.map(() => parameters.seed ?? randomInt(MAX_SEED)),
      },
      {
        signal: context.signal,
        onStep: (step, totalSteps) => {
          const progress = (step / totalSteps) * 100;
          for (let item = 0; item < prompts.length; item++) context.progress({ item, progress, step, totalSteps });
        },
      },
    );
    return Promise.all(images.map(toPng));
  }

  async dispose(): Promise<void> {
    await this.pipeline.dispose();
  }
}

/** PNG bytes (sharp/libvips); same pixels give the same bytes. */
export async function toPng(image: RgbImage): Promise<ItemOutput> {
  const png = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
  return { kind: 'image', png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), width: image.width, height: image.height };
}
