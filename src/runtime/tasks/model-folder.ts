import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ModelMoraError } from '../../domain/errors.js';
import type { LoadSpec } from '../../domain/runner.js';

/**
 * What every task handler checks and picks in the model's folder before loading. Kept apart from
 * transformers-setup.ts so a handler that runs onnxruntime directly (txt2embed) does not import
 * transformers.js (about 24 MB of runner memory) just for these.
 */

export const DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4'] as const;
export type Dtype = (typeof DTYPES)[number];

/** The file name suffix of each weights variant, as transformers.js names them under onnx/. */
const DTYPE_SUFFIX: Record<Dtype, string> = { fp32: '', fp16: '_fp16', q8: '_quantized', int8: '_int8', uint8: '_uint8', q4: '_q4' };

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

/** `onnx/<base><suffix>.onnx` in the model's folder: the graph transformers.js would open for `dtype`. */
export function onnxFile(spec: LoadSpec, dtype: Dtype, base = 'model'): string {
  const file = path.join(spec.folder, 'onnx', `${base}${DTYPE_SUFFIX[dtype]}.onnx`);
  if (!existsSync(file)) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', `Model '${spec.modelId}' has no onnx/${base}${DTYPE_SUFFIX[dtype]}.onnx for dtype ${dtype}`);
  }
  return file;
}

/** A JSON file of the folder, or undefined if absent or unreadable. */
export function readJsonFile(folder: string, name: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path.join(folder, name), 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The folder's config.json, or {} if absent or unreadable (transformers.js reports that better). */
export function readModelConfig(folder: string): Record<string, unknown> {
  return readJsonFile(folder, 'config.json') ?? {};
}

/** A boolean from the model's config, with a default; anything else fails the load. */
export function configBoolean(config: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = config[key] ?? fallback;
  if (typeof value !== 'boolean') throw new ModelMoraError('MODEL_LOAD_FAILED', `config.${key} must be true or false`);
  return value;
}
