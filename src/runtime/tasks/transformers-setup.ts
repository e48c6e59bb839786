import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { env, LogLevel } from '@huggingface/transformers';
import { ModelMoraError } from '../../domain/errors.js';
import type { LoadSpec } from '../../domain/runner.js';

/**
 * What every transformers.js task handler does before loading: stay offline, check the folder,
 * pick the weights variant and the thread count. Shared so the handlers cannot drift apart.
 */

export const DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4'] as const;
export type Dtype = (typeof DTYPES)[number];

/** Never reach the network from a runner: every file is already in the cache, verified. */
export function configureOffline(): void {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.useBrowserCache = false;
  env.logLevel = LogLevel.ERROR;
}

export function checkModelFolder(spec: LoadSpec): void {
  if (!path.isAbsolute(spec.folder) || !existsSync(spec.folder) || !statSync(spec.folder).isDirectory()) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', `The files of model '${spec.modelId}' are missing from the cache`);
  }
}

/** config.dtype if declared (checked), else fp32 when `onnx/<base>.onnx` is shipped, else q8. */
export function pickDtype(spec: LoadSpec, base = 'model'): Dtype {
  const declared = spec.config.dtype;
  if (declared !== undefined) {
    if (!(DTYPES as readonly unknown[]).includes(declared)) throw new ModelMoraError('MODEL_LOAD_FAILED', `config.dtype must be one of ${DTYPES.join(', ')}`);
    return declared as Dtype;
  }
  if (existsSync(path.join(spec.folder, 'onnx', `${base}.onnx`))) return 'fp32';
  if (existsSync(path.join(spec.folder, 'onnx', `${base}_quantized.onnx`))) return 'q8';
  return 'fp32';
}

export { sessionOptions } from '../session-options.js';

/** The folder's config.json, or {} if absent or unreadable (transformers.js reports that better). */
export function readModelConfig(folder: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path.join(folder, 'config.json'), 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A boolean from the model's config, with a default; anything else fails the load. */
export function configBoolean(config: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = config[key] ?? fallback;
  if (typeof value !== 'boolean') throw new ModelMoraError('MODEL_LOAD_FAILED', `config.${key} must be true or false`);
  return value;
}
