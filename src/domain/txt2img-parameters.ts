import { ModelMoraError, type FieldError } from './errors.js';

/**
 * The request parameters of txt2img, checked once with the same rules by the API (before any
 * work is queued) and by the runner (which also fills the model's defaults). Absent values stay
 * undefined here; the runner knows the model's defaults (e.g. its native size).
 */
export interface Txt2ImgParameters {
  width?: number;
  height?: number;
  steps?: number;
  guidanceScale?: number;
  /** 0 .. 2^32-1; the same seed gives the same image (every item of a batch uses it). */
  seed?: number;
  negativePrompt?: string;
}

/** Largest side in pixels; 2048 is four times Stable Diffusion 1.x's native size per side. */
export const MAX_IMAGE_SIDE = 2048;
export const MAX_STEPS = 1000;
export const MAX_GUIDANCE_SCALE = 100;
export const MAX_SEED = 0xffffffff;
const MAX_NEGATIVE_PROMPT_CHARS = 10_000;

/** INVALID_INPUT listing every bad field (all at once, so a caller fixes them in one go). */
export function readTxt2ImgParameters(parameters: Record<string, unknown>): Txt2ImgParameters {
  const errors: FieldError[] = [];
  const out: Txt2ImgParameters = {};
  const side = (key: 'width' | 'height') => {
    const value = parameters[key];
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 8 || value > MAX_IMAGE_SIDE || value % 8 !== 0) {
      errors.push({ field: `parameters.${key}`, message: `must be a multiple of 8 from 8 to ${MAX_IMAGE_SIDE}` });
    } else out[key] = value;
  };
  side('width');
  side('height');
  const steps = parameters['steps'] ?? parameters['num_inference_steps'];
  if (steps !== undefined) {
    if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) {
      errors.push({ field: 'parameters.steps', message: `must be a whole number from 1 to ${MAX_STEPS}` });
    } else out.steps = steps;
  }
  const guidance = parameters['guidance_scale'];
  if (guidance !== undefined) {
    if (typeof guidance !== 'number' || !Number.isFinite(guidance) || guidance < 0 || guidance > MAX_GUIDANCE_SCALE) {
      errors.push({ field: 'parameters.guidance_scale', message: `must be a number from 0 to ${MAX_GUIDANCE_SCALE}` });
    } else out.guidanceScale = guidance;
  }
  const seed = parameters['seed'];
  if (seed !== undefined) {
    if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      errors.push({ field: 'parameters.seed', message: `must be a whole number from 0 to ${MAX_SEED}` });
    } else out.seed = seed;
  }
  const negative = parameters['negative_prompt'];
  if (negative !== undefined) {
    if (typeof negative !== 'string' || negative.length > MAX_NEGATIVE_PROMPT_CHARS) {
      errors.push({ field: 'parameters.negative_prompt', message: `must be a string of at most ${MAX_NEGATIVE_PROMPT_CHARS} characters` });
    } else out.negativePrompt = negative;
  }
  if (errors.length > 0) {
    throw new ModelMoraError('INVALID_INPUT', `Invalid txt2img parameters: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, {
      fieldErrors: errors,
    });
  }
  return out;
}
