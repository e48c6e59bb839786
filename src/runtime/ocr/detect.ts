/**
 * Text detection with a PaddleOCR DB model: `x` [N,3,H,W] (BGR, ImageNet mean/std) ->
 * a probability map [N,1,H,W]. Images whose resized sizes match share one run.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { boxesFromMap, type DbOptions, type TextBox } from './db-postprocess.js';
import { resizeRgb, type RgbImage } from './image.js';

/** PaddleOCR feeds OpenCV's BGR order; these are its NormalizeImage values per input channel. */
const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;
/** Input channel c holds RGB channel BGR[c]. */
const BGR = [2, 1, 0] as const;
/** Pixels of one detector run: bounds the input tensor (12 bytes a pixel) for big batches. */
const RUN_PIXELS = 2_000_000;

/**
 * DetResizeForTest with limit_type 'max': shrink so the longer side is at most maxSide, then
 * round each side to a multiple of 32 (the network downsamples by 32), at least 32.
 */
export function detInputSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const ratio = Math.max(width, height) > maxSide ? maxSide / Math.max(width, height) : 1;
  const round32 = (side: number) => Math.max(Math.round(Math.trunc(side * ratio) / 32) * 32, 32);
  return { width: round32(width), height: round32(height) };
}

/** Writes one image as normalised CHW floats at `offset` of `target`. */
export function writeDetInput(image: RgbImage, target: Float32Array, offset: number): void {
  const plane = image.width * image.height;
  for (let c = 0; c < 3; c++) {
    const source = BGR[c]!;
    const mean = MEAN[c]!;
    const std = STD[c]!;
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) target[base + i] = (image.data[i * 3 + source]! / 255 - mean) / std;
  }
}

export interface DetectOptions extends DbOptions {
  maxSide: number;
}

export async function detectText(
  session: InferenceSession,
  images: readonly RgbImage[],
  options: DetectOptions,
  signal: AbortSignal,
): Promise<TextBox[][]> {
  const results: TextBox[][] = images.map(() => []);
  const groups = new Map<string, { width: number; height: number; members: number[] }>();
  images.forEach((image, index) => {
    const size = detInputSize(image.width, image.height, options.maxSide);
    const key = `${size.width}x${size.height}`;
    const group = groups.get(key) ?? { ...size, members: [] };
    group.members.push(index);
    groups.set(key, group);
  });

  const runs: { width: number; height: number; members: number[] }[] = [];
  for (const group of groups.values()) {
    const perRun = Math.max(1, Math.floor(RUN_PIXELS / (group.width * group.height)));
    for (let i = 0; i < group.members.length; i += perRun) runs.push({ ...group, members: group.members.slice(i, i + perRun) });
  }

  for (const { width, height, members } of runs) {
    signal.throwIfAborted();
    const plane = width * height;
    const input = new Float32Array(members.length * 3 * plane);
    for (const [slot, index] of members.entries()) {
      writeDetInput(await resizeRgb(images[index]!, width, height), input, slot * 3 * plane);
    }
    const outputs = await session.run({ [session.inputNames[0]!]: new Tensor('float32', input, [members.length, 3, height, width]) });
    const map = outputs[session.outputNames[0]!]!;
    const data = map.data as Float32Array;
    const [, , mapHeight = height, mapWidth = width] = map.dims;
    for (const [slot, index] of members.entries()) {
      const image = images[index]!;
      const slice = data.subarray(slot * mapWidth * mapHeight, (slot + 1) * mapWidth * mapHeight);
      results[index] = boxesFromMap({ data: slice, width: mapWidth, height: mapHeight }, image.width, image.height, options);
    }
    map.dispose();
  }
  return results;
}
