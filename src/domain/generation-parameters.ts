import { randomInt } from 'node:crypto';
import { ModelMoraError } from './errors.js';

/**
 * Request parameters of generating tasks (txt2txt, captioning), checked with the same rules by the
 * API (before any work is queued) and by the runner (which uses them): max_tokens,
 * temperature, top_p, top_k, seed, stop. Sampling is on when temperature > 0 (or do_sample is
 * true); otherwise decoding is greedy, which is deterministic without a seed.
 */
export interface GenerationOptions {
  maxTokens: number;
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  /** The seed the sampler is reset to before each item (so a batch mate cannot change the output). */
  seed: number;
  /** Texts that end the output: it is cut before the first one and generation stops. */
  stop: string[];
}

export interface GenerationLimits {
  /** max_tokens when the request sets none. */
  defaultMaxTokens: number;
  /** Largest max_tokens a request may ask. */
  maxTokensLimit: number;
}

const MAX_STOPS = 8;
const MAX_STOP_LENGTH = 100;

export function parseGenerationOptions(parameters: Record<string, unknown>, limits: GenerationLimits): GenerationOptions {
  const p = parameters;
  const maxTokens = integer(p.max_tokens ?? p.max_new_tokens, 'max_tokens', 1, limits.maxTokensLimit) ?? limits.defaultMaxTokens;
  const temperature = number(p.temperature, 'temperature', 0, 100) ?? 0;
  if (p.do_sample !== undefined && typeof p.do_sample !== 'boolean') throw invalid('parameters.do_sample must be true or false');
  const doSample = (p.do_sample as boolean | undefined) ?? temperature > 0;
  const topK = integer(p.top_k, 'top_k', 0, 1_000_000) ?? 0;
  const topP = number(p.top_p, 'top_p', Number.MIN_VALUE, 1) ?? 1;
  const seed = integer(p.seed, 'seed', 0, 2 ** 32 - 1) ?? randomInt(2 ** 32 - 1);
  return { maxTokens, doSample, temperature: doSample && temperature === 0 ? 1 : temperature, topK, topP, seed, stop: stops(p.stop) };
}

/** config.max_tokens (default for requests, 64) and config.max_tokens_limit (cap, 1024). */
export function generationLimits(config: Record<string, unknown>): GenerationLimits {
  const read = (key: string, fallback: number) => {
    const v = config[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ModelMoraError('MODEL_LOAD_FAILED', `config.${key} must be a positive whole number`);
    return v;
  };
  const maxTokensLimit = read('max_tokens_limit', 1024);
  return { defaultMaxTokens: Math.min(read('max_tokens', 64), maxTokensLimit), maxTokensLimit };
}

function stops(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  if (list.length > MAX_STOPS) throw invalid(`parameters.stop takes at most ${MAX_STOPS} strings`);
  for (const s of list) {
    if (typeof s !== 'string' || s.length === 0 || s.length > MAX_STOP_LENGTH) {
      throw invalid(`parameters.stop must be a string or a list of strings of 1 to ${MAX_STOP_LENGTH} characters`);
    }
  }
  return list as string[];
}

function integer(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`parameters.${name} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function number(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(`parameters.${name} must be a number from ${min === Number.MIN_VALUE ? 'above 0' : min} to ${max}`);
  }
  return value;
}

function invalid(message: string): ModelMoraError {
  return new ModelMoraError('INVALID_INPUT', message);
}
