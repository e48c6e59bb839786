import { ModelMoraError } from '../../domain/errors.js';

/**
 * The two samplers of diffusers that this runner implements, EulerDiscreteScheduler and
 * DDIMScheduler, read from `scheduler/scheduler_config.json` and computed as diffusers computes
 * them (betas and their cumulative product in float32, timestep spacing, steps_offset,
 * prediction types), so a model's own config gives the timesteps and sigmas it was tuned with.
 * Options this runner does not implement fail the load with a clear message rather than being
 * silently ignored.
 */

export const SCHEDULER_CLASSES = ['EulerDiscreteScheduler', 'DDIMScheduler'] as const;
export type SchedulerClass = (typeof SCHEDULER_CLASSES)[number];
export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
export type TimestepSpacing = 'linspace' | 'leading' | 'trailing';

export interface SchedulerConfig {
  className: SchedulerClass;
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  trainedBetas: number[] | undefined;
  predictionType: PredictionType;
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
  /** DDIM: clamp the predicted x0 to [-clipSampleRange, clipSampleRange]. */
  clipSample: boolean;
  clipSampleRange: number;
  /** DDIM: alpha of the step after the last (1, or alphas_cumprod[0]). */
  setAlphaToOne: boolean;
  /** Euler: the sigma after the last step, 0 or the smallest training sigma. */
  finalSigmasType: 'zero' | 'sigma_min';
}

/** One sampling run: the timesteps to feed the unet and how to move the latents between them. */
export interface SchedulerPlan {
  /** Timesteps in the order they run (as diffusers' `scheduler.timesteps`). */
  readonly timesteps: readonly number[];
  /** Euler's sigmas, with the final one appended (empty for DDIM). */
  readonly sigmas: readonly number[];
  /** Standard deviation of the initial noise. */
  readonly initNoiseSigma: number;
  /** The unet input for step `index` (Euler divides by sqrt(sigma² + 1); DDIM leaves it). */
  scaleModelInput(sample: Float32Array, index: number): Float32Array;
  /** The latents after step `index`, given the (guided) model output. */
  step(modelOutput: Float32Array, index: number, sample: Float32Array): Float32Array;
}

type Json = Record<string, unknown>;

function pick<T>(json: Json, key: string, fallback: T, valid: (v: unknown) => boolean, what: string): T {
  const value = json[key];
  if (value === undefined || value === null) return fallback;
  if (!valid(value)) throw configError(`${key} must be ${what}, got ${JSON.stringify(value)}`);
  return value as T;
}

function configError(message: string): ModelMoraError {
  return new ModelMoraError('MODEL_LOAD_FAILED', `scheduler_config.json: ${message}`);
}

const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isBool = (v: unknown) => typeof v === 'boolean';
const oneOf = (values: readonly string[]) => (v: unknown) => typeof v === 'string' && values.includes(v);

/**
 * Reads a diffusers scheduler config. `className` overrides `_class_name`, as diffusers users
 * swap samplers with `from_config` (models that ship e.g. PNDMScheduler share these keys).
 */
export function parseSchedulerConfig(json: Json, className?: string): SchedulerConfig {
  const name = className ?? json['_class_name'];
  if (!oneOf(SCHEDULER_CLASSES)(name)) {
    throw configError(
      `scheduler '${String(name)}' is not supported; this runner implements ${SCHEDULER_CLASSES.join(' and ')} (set config.scheduler on the model to use one of them)`,
    );
  }
  const cls = name as SchedulerClass;
  for (const flag of ['thresholding', 'rescale_betas_zero_snr', 'use_karras_sigmas', 'use_exponential_sigmas', 'use_beta_sigmas']) {
    if (json[flag] === true) throw configError(`${flag}: true is not supported by this runner`);
  }
  pick(json, 'interpolation_type', 'linear', oneOf(['linear']), "'linear' (the only interpolation implemented)");
  pick(json, 'timestep_type', 'discrete', oneOf(['discrete']), "'discrete'");
  const trained = json['trained_betas'];
  if (trained !== undefined && trained !== null && !(Array.isArray(trained) && trained.every(isNumber))) {
    throw configError('trained_betas must be a list of numbers');
  }
  const config: SchedulerConfig = {
    className: cls,
    numTrainTimesteps: pick(json, 'num_train_timesteps', 1000, (v) => Number.isInteger(v) && (v as number) > 1, 'an integer above 1'),
    betaStart: pick(json, 'beta_start', 0.0001, isNumber, 'a number'),
    betaEnd: pick(json, 'beta_end', 0.02, isNumber, 'a number'),
    betaSchedule: pick(json, 'beta_schedule', 'linear', oneOf(['linear', 'scaled_linear', 'squaredcos_cap_v2']), 'linear, scaled_linear or squaredcos_cap_v2'),
    trainedBetas: Array.isArray(trained) ? (trained as number[]) : undefined,
    predictionType: pick(json, 'prediction_type', 'epsilon', oneOf(['epsilon', 'v_prediction', 'sample']), 'epsilon, v_prediction or sample'),
    // diffusers' defaults differ per class: Euler 'linspace', DDIM 'leading'.
    timestepSpacing: pick(json, 'timestep_spacing', cls === 'DDIMScheduler' ? 'leading' : 'linspace', oneOf(['linspace', 'leading', 'trailing']), 'linspace, leading or trailing'),
    stepsOffset: pick(json, 'steps_offset', 0, (v) => Number.isInteger(v) && (v as number) >= 0, 'a whole number'),
    clipSample: pick(json, 'clip_sample', cls === 'DDIMScheduler', isBool, 'true or false'),
    clipSampleRange: pick(json, 'clip_sample_range', 1, isNumber, 'a number'),
    setAlphaToOne: pick(json, 'set_alpha_to_one', true, isBool, 'true or false'),
    finalSigmasType: pick(json, 'final_sigmas_type', 'zero', oneOf(['zero', 'sigma_min']), "'zero' or 'sigma_min'"),
  };
  if (config.trainedBetas && config.trainedBetas.length !== config.numTrainTimesteps) {
    throw configError('trained_betas must have num_train_timesteps values');
  }
  if (cls === 'EulerDiscreteScheduler' && config.predictionType === 'sample') {
    throw configError("prediction_type 'sample' is not supported by EulerDiscreteScheduler");
  }
  return config;
}

const f32 = Math.fround;

/** torch.linspace(start, end, n) in float64 (rounded to float32 by the callers that need it). */
function linspace(start: number, end: number, n: number): number[] {
  if (n === 1) return [start];
  const step = (end - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i < n / 2 ? start + i * step : end - (n - 1 - i) * step));
}

/** betas and alphas_cumprod as diffusers holds them: float32 tensors. */
export function alphasCumprod(config: SchedulerConfig): Float64Array {
  const n = config.numTrainTimesteps;
  let betas: number[];
  if (config.trainedBetas) betas = config.trainedBetas.map(f32);
  else if (config.betaSchedule === 'linear') betas = linspace(config.betaStart, config.betaEnd, n).map(f32);
  else if (config.betaSchedule === 'scaled_linear') {
    betas = linspace(Math.sqrt(config.betaStart), Math.sqrt(config.betaEnd), n).map((b) => f32(f32(b) * f32(b)));
  } else {
    // Glide's cosine schedule (betas_for_alpha_bar with max_beta 0.999).
    const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    betas = Array.from({ length: n }, (_, i) => f32(Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999)));
  }
  const out = new Float64Array(n);
  let product = 1;
  for (let i = 0; i < n; i++) {
    product = f32(product * f32(1 - betas[i]!));
    out[i] = product;
  }
  return out;
}

/** The timesteps of `steps` sampling steps, in run order, for a spacing (diffusers' set_timesteps). */
export function spacedTimesteps(config: SchedulerConfig, steps: number): number[] {
  const n = config.numTrainTimesteps;
  if (!Number.isInteger(steps) || steps < 1 || steps > n) {
    throw new ModelMoraError('INVALID_INPUT', `steps must be a whole number from 1 to ${n}`);
  }
  const integer = config.className === 'DDIMScheduler';
  switch (config.timestepSpacing) {
    case 'linspace': {
      const values = linspace(0, n - 1, steps).reverse();
      // Euler keeps fractional timesteps (float32); DDIM rounds them (numpy rounds half to even).
      return values.map((t) => (integer ? roundHalfEven(t) : f32(t)));
    }
    case 'leading': {
      const ratio = Math.floor(n / steps);
      return Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + config.stepsOffset);
    }
    case 'trailing': {
      const ratio = n / steps;
      const out: number[] = [];
      // np.arange(n, 0, -ratio): n, n - ratio, ... while > 0.
      for (let i = 0; n - i * ratio > 0; i++) out.push(roundHalfEven(n - i * ratio) - 1);
      return out;
    }
  }
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** np.interp over the integer grid 0..values.length-1. */
function interpolate(x: number, values: ArrayLike<number>): number {
  if (x <= 0) return values[0]!;
  const last = values.length - 1;
  if (x >= last) return values[last]!;
  const low = Math.floor(x);
  const w = x - low;
  return values[low]! + w * (values[low + 1]! - values[low]!);
}

export function createScheduler(config: SchedulerConfig, steps: number): SchedulerPlan {
  return config.className === 'DDIMScheduler' ? ddim(config, steps) : euler(config, steps);
}

function euler(config: SchedulerConfig, steps: number): SchedulerPlan {
  const cumprod = alphasCumprod(config);
  // Training sigmas, computed in float32 like diffusers' torch tensors.
  const trainSigmas = Array.from(cumprod, (a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
  const timesteps = spacedTimesteps(config, steps);
  const sigmas = timesteps.map((t) => f32(interpolate(t, trainSigmas)));
  const finalSigma = config.finalSigmasType === 'sigma_min' ? trainSigmas[0]! : 0;
  sigmas.push(f32(finalSigma));
  const maxSigma = Math.max(...sigmas);
  const initNoiseSigma = config.timestepSpacing === 'leading' ? f32(Math.sqrt(maxSigma * maxSigma + 1)) : maxSigma;
  const v = config.predictionType === 'v_prediction';
  return {
    timesteps,
    sigmas,
    initNoiseSigma,
    scaleModelInput(sample, index) {
      const sigma = sigmas[index]!;
      const scale = Math.sqrt(sigma * sigma + 1);
      return sample.map((x) => x / scale);
    },
    step(modelOutput, index, sample) {
      // s_churn = 0 (the default), so sigma_hat = sigma and no noise is added.
      const sigma = sigmas[index]!;
      const dt = sigmas[index + 1]! - sigma;
      const out = new Float32Array(sample.length);
      const vScale = -sigma / Math.sqrt(sigma * sigma + 1);
      const vDenominator = sigma * sigma + 1;
      for (let i = 0; i < sample.length; i++) {
        const x = sample[i]!;
        const e = modelOutput[i]!;
        const predOriginal = v ? e * vScale + x / vDenominator : x - sigma * e;
        const derivative = (x - predOriginal) / sigma;
        out[i] = x + derivative * dt;
      }
      return out;
    },
  };
}

function ddim(config: SchedulerConfig, steps: number): SchedulerPlan {
  const cumprod = alphasCumprod(config);
  const finalAlpha = config.setAlphaToOne ? 1 : cumprod[0]!;
  const timesteps = spacedTimesteps(config, steps);
  const ratio = Math.floor(config.numTrainTimesteps / steps);
  const range = config.clipSampleRange;
  return {
    timesteps,
    sigmas: [],
    initNoiseSigma: 1,
    scaleModelInput: (sample) => sample,
    step(modelOutput, index, sample) {
      // eta = 0: deterministic DDIM, no variance term.
      const t = timesteps[index]!;
      const prevT = t - ratio;
      const alphaT = cumprod[t]!;
      const alphaPrev = prevT >= 0 ? cumprod[prevT]! : finalAlpha;
      const betaT = 1 - alphaT;
      const sqrtAlpha = Math.sqrt(alphaT);
      const sqrtBeta = Math.sqrt(betaT);
      const direction = Math.sqrt(1 - alphaPrev);
      const sqrtAlphaPrev = Math.sqrt(alphaPrev);
      const out = new Float32Array(sample.length);
      for (let i = 0; i < sample.length; i++) {
        const x = sample[i]!;
        const m = modelOutput[i]!;
        let predOriginal: number;
        let predEpsilon: number;
        if (config.predictionType === 'epsilon') {
          predOriginal = (x - sqrtBeta * m) / sqrtAlpha;
          predEpsilon = m;
        } else if (config.predictionType === 'sample') {
          predOriginal = m;
          predEpsilon = (x - sqrtAlpha * m) / sqrtBeta;
        } else {
          predOriginal = sqrtAlpha * x - sqrtBeta * m;
          predEpsilon = sqrtAlpha * m + sqrtBeta * x;
        }
        if (config.clipSample) predOriginal = Math.min(range, Math.max(-range, predOriginal));
        out[i] = sqrtAlphaPrev * predOriginal + direction * predEpsilon;
      }
      return out;
    },
  };
}
