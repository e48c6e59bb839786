/**
 * Recognition (and the optional angle classification) of detected boxes with PaddleOCR models.
 * Each box is sampled straight from the source image into the model's input row (crop, rotate
 * and resize in one pass), normalised as PaddleOCR does ((v/255 - 0.5) / 0.5, BGR order).
 */
import type { InferenceSession } from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { ModelMoraError } from '../../domain/errors.js';
import { ctcGreedyDecode, type Decoded, type Dictionary } from './ctc.js';
import { quadHeight, quadWidth, type Quad } from './geometry.js';
import type { RgbImage } from './image.js';

/** rec_image_shape 3,48,320: lines are 48 px high, and never padded to less than 320 wide. */
export const REC_HEIGHT = 48;
const REC_MIN_WIDTH = 320;
/** cls_image_shape 3,48,192. */
const CLS_WIDTH = 192;
/** Largest supersampling grid per axis when a box is shrunk to 48 px. */
const MAX_SAMPLES = 4;

export interface Crop {
  image: RgbImage;
  /** The box, corners in reading order of its text. */
  quad: Quad;
}

/** PaddleOCR's get_rotate_crop_image turns boxes 1.5 times taller than wide a quarter left. */
export function uprightQuad(quad: Quad): Quad {
  return quadHeight(quad) / Math.max(quadWidth(quad), 1) >= 1.5 ? [quad[1], quad[2], quad[3], quad[0]] : quad;
}

export function rotate180(quad: Quad): Quad {
  return [quad[2], quad[3], quad[0], quad[1]];
}

/** Width of a box resized to `height` keeping its aspect ratio, at most `maxWidth`. */
export function scaledWidth(quad: Quad, height: number, maxWidth = Infinity): number {
  const ratio = quadWidth(quad) / Math.max(quadHeight(quad), 1);
  return Math.max(1, Math.min(Math.ceil(height * ratio), maxWidth));
}

function sampleBilinear(image: RgbImage, x: number, y: number, channel: number): number {
  const cx = Math.min(Math.max(x, 0), image.width - 1);
  const cy = Math.min(Math.max(y, 0), image.height - 1);
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, image.width - 1);
  const y1 = Math.min(y0 + 1, image.height - 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const at = (px: number, py: number) => image.data[(py * image.width + px) * 3 + channel]!;
  return (at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) + (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy;
}

/**
 * Samples the crop's quad into a [3, REC_HEIGHT, stride] slot of `target` at `offset`, filling
 * the first `width` columns; the rest stays 0 (PaddleOCR's padding). A shrunk box is
 * supersampled so thin strokes do not vanish between samples.
 */
export function writeCrop(crop: Crop, width: number, stride: number, target: Float32Array, offset: number): void {
  const [q0, q1, q2, q3] = crop.quad;
  const samplesX = Math.min(MAX_SAMPLES, Math.max(1, Math.ceil(quadWidth(crop.quad) / width)));
  const samplesY = Math.min(MAX_SAMPLES, Math.max(1, Math.ceil(quadHeight(crop.quad) / REC_HEIGHT)));
  const plane = REC_HEIGHT * stride;
  const bgr = [0, 0, 0];
  for (let v = 0; v < REC_HEIGHT; v++) {
    for (let u = 0; u < width; u++) {
      bgr[0] = bgr[1] = bgr[2] = 0;
      for (let sy = 0; sy < samplesY; sy++) {
        const t = (v + (sy + 0.5) / samplesY) / REC_HEIGHT;
        for (let sx = 0; sx < samplesX; sx++) {
          const s = (u + (sx + 0.5) / samplesX) / width;
          // Bilinear blend of the corners: exact for rectangles, sensible for clipped quads.
          const x = (1 - s) * (1 - t) * q0.x + s * (1 - t) * q1.x + s * t * q2.x + (1 - s) * t * q3.x;
          const y = (1 - s) * (1 - t) * q0.y + s * (1 - t) * q1.y + s * t * q2.y + (1 - s) * t * q3.y;
          for (let c = 0; c < 3; c++) bgr[c]! += sampleBilinear(crop.image, x, y, 2 - c);
        }
      }
      const count = samplesX * samplesY;
      for (let c = 0; c < 3; c++) target[offset + c * plane + v * stride + u] = (bgr[c]! / count / 255 - 0.5) / 0.5;
    }
  }
}

/** Runs `session` over the crops in chunks of `batchSize` crops of equal padded width. */
async function runPadded(
  session: InferenceSession,
  crops: readonly Crop[],
  widthOf: (crop: Crop) => { width: number; padded: number },
  batchSize: number,
  signal: AbortSignal,
  consume: (outputs: Tensor, members: number[]) => void,
): Promise<void> {
  const groups = new Map<number, number[]>();
  crops.forEach((crop, index) => {
    const { padded } = widthOf(crop);
    groups.set(padded, [...(groups.get(padded) ?? []), index]);
  });
  for (const [padded, indices] of groups) {
    for (let start = 0; start < indices.length; start += batchSize) {
      signal.throwIfAborted();
      const members = indices.slice(start, start + batchSize);
      const slot = 3 * REC_HEIGHT * padded;
      const input = new Float32Array(members.length * slot);
      members.forEach((index, i) => writeCrop(crops[index]!, widthOf(crops[index]!).width, padded, input, i * slot));
      const outputs = await session.run({ [session.inputNames[0]!]: new Tensor('float32', input, [members.length, 3, REC_HEIGHT, padded]) });
      const output = outputs[session.outputNames[0]!]!;
      consume(output, members);
      output.dispose();
    }
  }
}

/**
 * Recognises each crop. A crop's padded width depends only on itself (its width rounded up to
 * 32, at least 320), so its text does not change with what else is in the batch.
 */
export async function recognizeCrops(
  session: InferenceSession,
  crops: readonly Crop[],
  dictionary: Dictionary,
  options: { batchSize: number; spaceThreshold: number },
  signal: AbortSignal,
): Promise<Decoded[]> {
  const results: Decoded[] = crops.map(() => ({ text: '', score: 0 }));
  const widthOf = (crop: Crop) => {
    const width = scaledWidth(crop.quad, REC_HEIGHT);
    return { width, padded: Math.max(REC_MIN_WIDTH, Math.ceil(width / 32) * 32) };
  };
  await runPadded(session, crops, widthOf, options.batchSize, signal, (output, members) => {
    const [rows = 0, steps = 0, classes = 0] = output.dims;
    if (rows !== members.length || classes !== dictionary.characters.length) {
      throw new ModelMoraError('INFERENCE_FAILED', `The recogniser returned ${classes} classes for a dictionary of ${dictionary.characters.length}`);
    }
    const probs = output.data as Float32Array;
    members.forEach((index, row) => (results[index] = ctcGreedyDecode(probs, row, steps, classes, dictionary, options.spaceThreshold)));
  });
  return results;
}

/**
 * The angle classifier's verdict per crop: true when the crop is upside down with a
 * probability above `threshold` (PaddleOCR's cls_thresh, 0.9).
 */
export async function classifyUpsideDown(
  session: InferenceSession,
  crops: readonly Crop[],
  threshold: number,
  batchSize: number,
  signal: AbortSignal,
): Promise<boolean[]> {
  const flipped = crops.map(() => false);
  const widthOf = (crop: Crop) => ({ width: scaledWidth(crop.quad, REC_HEIGHT, CLS_WIDTH), padded: CLS_WIDTH });
  await runPadded(session, crops, widthOf, batchSize, signal, (output, members) => {
    const probs = output.data as Float32Array;
    // Labels ['0', '180']: column 1 is "turned half a circle".
    members.forEach((index, row) => (flipped[index] = probs[row * 2 + 1]! > probs[row * 2]! && probs[row * 2 + 1]! > threshold));
  });
  return flipped;
}
