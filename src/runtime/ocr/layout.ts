/**
 * The OCR model folder: a config.json with `model_type: "paddleocr"` naming the detection,
 * recognition and (optional) angle-classification ONNX files and the dictionary, plus
 * PaddleOCR's inference settings under their PaddleOCR names. The model's `config` in
 * modelmora.yaml overrides the same keys. No native imports here: the task registry reads this
 * to choose between the img2txt families before loading anything heavy.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ModelMoraError } from '../../domain/errors.js';
import type { LoadSpec } from '../../domain/runner.js';

export const OCR_MODEL_TYPE = 'paddleocr';

export interface OcrSettings {
  detection: string;
  recognition: string;
  /** Undefined when the folder ships no angle classifier. */
  classification: string | undefined;
  dictionary: string;
  useSpaceChar: boolean;
  detLimitSideLen: number;
  detDbThresh: number;
  detDbBoxThresh: number;
  detDbUnclipRatio: number;
  useAngleCls: boolean;
  clsThresh: number;
  /** Boxes recognised with a lower mean confidence are left out of the text. */
  dropScore: number;
  recBatchNum: number;
  /** ModelMora's own: a word gap whose space probability peaks this high reads as a space (1 = off). */
  spaceThreshold: number;
}

function readConfigJson(folder: string): Record<string, unknown> | undefined {
  const file = path.join(folder, 'config.json');
  if (!existsSync(file)) return undefined;
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** img2txt dispatch: `config.family: ocr` in the manifest, or a PaddleOCR config.json in the folder. */
export function isOcrModel(spec: LoadSpec): boolean {
  if (spec.config.family === 'ocr') return true;
  return readConfigJson(spec.folder)?.model_type === OCR_MODEL_TYPE;
}

function fail(message: string): never {
  throw new ModelMoraError('MODEL_LOAD_FAILED', message);
}

/** A file name inside the model folder; '..' or absolute names are refused. */
function fileIn(folder: string, key: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') fail(`config ${key} must name a file of the model folder`);
  const resolved = path.resolve(folder, value);
  if (!resolved.startsWith(path.resolve(folder) + path.sep)) fail(`config ${key} must stay inside the model folder`);
  if (!existsSync(resolved)) fail(`The model folder has no ${key} file '${value}'`);
  return resolved;
}

function numberIn(settings: Record<string, unknown>, key: string, fallback: number, low: number, high: number, integer = false): number {
  const value = settings[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < low || value > high || (integer && !Number.isInteger(value))) {
    fail(`config ${key} must be ${integer ? 'an integer' : 'a number'} from ${low} to ${high}`);
  }
  return value;
}

function booleanIn(settings: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = settings[key] ?? fallback;
  if (typeof value !== 'boolean') fail(`config ${key} must be true or false`);
  return value;
}

/**
 * Resolves the folder's config.json under the manifest's config, with PaddleOCR's inference
 * defaults (tools/infer/utility.py) for anything neither sets. File paths come back absolute.
 */
export function readOcrSettings(spec: LoadSpec): OcrSettings {
  const json = readConfigJson(spec.folder) ?? {};
  const merged: Record<string, unknown> = { ...json, ...spec.config };
  const classification = merged.classification === undefined || merged.classification === null ? undefined : fileIn(spec.folder, 'classification', merged.classification);
  const useAngleCls = booleanIn(merged, 'use_angle_cls', false);
  if (useAngleCls && classification === undefined) fail('config use_angle_cls needs a classification model in the folder');
  return {
    detection: fileIn(spec.folder, 'detection', merged.detection ?? 'det.onnx'),
    recognition: fileIn(spec.folder, 'recognition', merged.recognition ?? 'rec.onnx'),
    classification,
    dictionary: fileIn(spec.folder, 'dictionary', merged.dictionary ?? 'ppocr_keys_v1.txt'),
    useSpaceChar: booleanIn(merged, 'use_space_char', true),
    detLimitSideLen: numberIn(merged, 'det_limit_side_len', 960, 32, 8192, true),
    detDbThresh: numberIn(merged, 'det_db_thresh', 0.3, 0, 1),
    detDbBoxThresh: numberIn(merged, 'det_db_box_thresh', 0.6, 0, 1),
    detDbUnclipRatio: numberIn(merged, 'det_db_unclip_ratio', 1.5, 0, 10),
    useAngleCls,
    clsThresh: numberIn(merged, 'cls_thresh', 0.9, 0, 1),
    dropScore: numberIn(merged, 'drop_score', 0.5, 0, 1),
    recBatchNum: numberIn(merged, 'rec_batch_num', 6, 1, 256, true),
    spaceThreshold: numberIn(merged, 'space_threshold', 0.02, 0, 1),
  };
}
