/**
 * DB (Differentiable Binarization) post-processing, after PaddleOCR's DBPostProcess with its
 * inference defaults: threshold the probability map, take each connected text kernel, fit a
 * minimum-area rectangle, score it by the mean probability inside, grow it by the unclip ratio
 * and scale it to the source image. Pure functions on arrays, so the units test synthetic maps.
 */
import { insideConvexQuad, minAreaRect, orderCorners, quadHeight, quadWidth, unclipRect, type Point, type Quad } from './geometry.js';

export interface DbOptions {
  /** Pixels with a probability above this are text (det_db_thresh). */
  threshold: number;
  /** Boxes whose mean probability is below this are dropped (det_db_box_thresh). */
  boxThreshold: number;
  /** How much a kernel is grown back (det_db_unclip_ratio). */
  unclipRatio: number;
  /** Boxes with a shorter side (map pixels) are dropped. */
  minSize: number;
  /** At most this many regions are considered, the largest first. */
  maxCandidates: number;
}

export const DEFAULT_DB_OPTIONS: DbOptions = { threshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5, minSize: 3, maxCandidates: 1000 };

export interface ProbabilityMap {
  data: Float32Array;
  width: number;
  height: number;
}

export interface TextBox {
  /** In source-image pixels. */
  quad: Quad;
  /** Mean probability inside the kernel's rectangle. */
  score: number;
}

export interface Region {
  pixels: number;
  /** The leftmost and rightmost pixel of each row: enough for the convex hull. */
  outline: Point[];
}

/**
 * 8-connected regions of the binary map (OpenCV's findContours sees outer contours this way).
 * An explicit stack keeps a page-sized region from overflowing the call stack.
 */
export function connectedRegions(mask: Uint8Array, width: number, height: number): Region[] {
  const labels = new Int32Array(width * height);
  const stack = new Int32Array(width * height);
  const regions: Region[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    const label = regions.length + 1;
    const rowMin = new Map<number, number>();
    const rowMax = new Map<number, number>();
    let pixels = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const index = stack[--top]!;
      const x = index % width;
      const y = (index - x) / width;
      pixels++;
      const low = rowMin.get(y);
      if (low === undefined || x < low) rowMin.set(y, x);
      const high = rowMax.get(y);
      if (high === undefined || x > high) rowMax.set(y, x);
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width || (dx === 0 && dy === 0)) continue;
          const next = ny * width + nx;
          if (mask[next] && !labels[next]) {
            labels[next] = label;
            stack[top++] = next;
          }
        }
      }
    }
    const outline: Point[] = [];
    for (const [y, x] of rowMin) outline.push({ x, y }, { x: rowMax.get(y)!, y });
    regions.push({ pixels, outline });
  }
  return regions;
}

/** PaddleOCR's box_score_fast: mean probability over the map pixels inside the quad. */
export function meanInside(map: ProbabilityMap, quad: Quad): number {
  const xs = quad.map((p) => p.x);
  const ys = quad.map((p) => p.y);
  const x0 = clamp(Math.floor(Math.min(...xs)), 0, map.width - 1);
  const x1 = clamp(Math.ceil(Math.max(...xs)), 0, map.width - 1);
  const y0 = clamp(Math.floor(Math.min(...ys)), 0, map.height - 1);
  const y1 = clamp(Math.ceil(Math.max(...ys)), 0, map.height - 1);
  let sum = 0;
  let count = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      // Half a pixel of slack: a fill of the polygon covers the pixels its border touches.
      if (!insideConvexQuad(quad, { x, y }, 0.5)) continue;
      sum += map.data[y * map.width + x]!;
      count++;
    }
  }
  return count === 0 ? 0 : sum / count;
}

/** Text boxes in source-image coordinates, from a probability map of the resized image. */
export function boxesFromMap(map: ProbabilityMap, sourceWidth: number, sourceHeight: number, options: DbOptions = DEFAULT_DB_OPTIONS): TextBox[] {
  const mask = new Uint8Array(map.data.length);
  for (let i = 0; i < mask.length; i++) mask[i] = map.data[i]! > options.threshold ? 1 : 0;
  const regions = connectedRegions(mask, map.width, map.height)
    .sort((a, b) => b.pixels - a.pixels)
    .slice(0, options.maxCandidates);

  const scaleX = sourceWidth / map.width;
  const scaleY = sourceHeight / map.height;
  const boxes: TextBox[] = [];
  for (const region of regions) {
    const kernel = minAreaRect(region.outline);
    if (kernel.shortSide < options.minSize) continue;
    const score = meanInside(map, kernel.quad);
    if (score < options.boxThreshold) continue;
    const grown = minAreaRect(unclipRect(kernel.quad, options.unclipRatio));
    if (grown.shortSide < options.minSize + 2) continue;
    const scaled = grown.quad.map((p) => ({
      x: clamp(Math.round(p.x * scaleX), 0, sourceWidth - 1),
      y: clamp(Math.round(p.y * scaleY), 0, sourceHeight - 1),
    }));
    const quad = orderCorners(scaled);
    // PaddleOCR's filter_tag_det_res: slivers left after clipping to the image are noise.
    if (quadWidth(quad) <= 3 || quadHeight(quad) <= 3) continue;
    boxes.push({ quad, score });
  }
  return boxes;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}
