import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxesFromMap, connectedRegions, DEFAULT_DB_OPTIONS, type ProbabilityMap } from '../../../../src/runtime/ocr/db-postprocess.js';
import { detInputSize } from '../../../../src/runtime/ocr/detect.js';
import { minAreaRect, type Point } from '../../../../src/runtime/ocr/geometry.js';

function map(width: number, height: number, fill: (x: number, y: number) => number): ProbabilityMap {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = fill(x, y);
  return { data, width, height };
}

const inRect = (x: number, y: number, x0: number, y0: number, x1: number, y1: number) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
// `+ 0` turns -0 into 0 for deepEqual.
const rounded = (points: Point[]) => points.map((p) => [Math.round(p.x) + 0, Math.round(p.y) + 0]);

test('one kernel becomes one box, grown by the unclip ratio and scaled to the source', () => {
  // Kernel pixels x 20..59, y 10..19: a 39 x 9 rectangle of pixel centres, area 351, perimeter
  // 96, so it grows by 351 * 1.5 / 96 = 5.48 on each side: x 14.52..64.48, y 4.52..24.48; the
  // source is twice the map, so x 29..129, y 9..49 after rounding.
  const probs = map(100, 40, (x, y) => (inRect(x, y, 20, 10, 59, 19) ? 0.9 : 0.01));
  const boxes = boxesFromMap(probs, 200, 80);
  assert.equal(boxes.length, 1);
  assert.deepEqual(rounded(boxes[0]!.quad), [[29, 9], [129, 9], [129, 49], [29, 49]]);
  assert.ok(Math.abs(boxes[0]!.score - 0.9) < 1e-6);
});

test('kernels under the box threshold, thinner than the minimum or empty give no box', () => {
  // Above the pixel threshold (0.3) but a mean of 0.5 < 0.6: dropped.
  assert.deepEqual(boxesFromMap(map(100, 40, (x, y) => (inRect(x, y, 20, 10, 59, 19) ? 0.5 : 0)), 100, 40), []);
  // Two pixels high: the short side (1) is under min_size 3.
  assert.deepEqual(boxesFromMap(map(100, 40, (x, y) => (inRect(x, y, 20, 10, 59, 11) ? 0.95 : 0)), 100, 40), []);
  assert.deepEqual(boxesFromMap(map(64, 32, () => 0.1), 64, 32), []);
  // The box threshold is an option.
  const weak = map(100, 40, (x, y) => (inRect(x, y, 20, 10, 59, 19) ? 0.5 : 0));
  assert.equal(boxesFromMap(weak, 100, 40, { ...DEFAULT_DB_OPTIONS, boxThreshold: 0.4 }).length, 1);
});

test('separate kernels give separate boxes; diagonal neighbours are one region', () => {
  const probs = map(120, 60, (x, y) => (inRect(x, y, 5, 5, 50, 14) || inRect(x, y, 5, 35, 100, 44) ? 0.9 : 0));
  const boxes = boxesFromMap(probs, 120, 60);
  assert.equal(boxes.length, 2);
  const tops = boxes.map((b) => Math.min(...b.quad.map((p) => p.y))).sort((a, b) => a - b);
  assert.ok(tops[0]! < 5 && tops[1]! > 25 && tops[1]! < 35, JSON.stringify(tops));

  const diagonal = new Uint8Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.equal(connectedRegions(diagonal, 3, 3).length, 1);
  assert.equal(connectedRegions(new Uint8Array([1, 0, 1, 0, 0, 0, 1, 0, 1]), 3, 3).length, 4);
});

test('a tilted kernel gets a tilted box with its corners in reading order', () => {
  // A 60 x 8 band rotated by 10 degrees around (50, 40).
  const angle = (10 * Math.PI) / 180;
  const probs = map(100, 80, (x, y) => {
    const u = (x - 50) * Math.cos(angle) + (y - 40) * Math.sin(angle);
    const v = -(x - 50) * Math.sin(angle) + (y - 40) * Math.cos(angle);
    return Math.abs(u) <= 30 && Math.abs(v) <= 4 ? 0.9 : 0;
  });
  const [found, ...rest] = boxesFromMap(probs, 100, 80);
  assert.equal(rest.length, 0);
  const [tl, tr, br, bl] = found!.quad;
  const slope = Math.atan2(tr.y - tl.y, tr.x - tl.x);
  assert.ok(Math.abs(slope - angle) < 0.05, `slope ${slope}`);
  assert.ok(tl.x < tr.x && bl.x < br.x && tl.y < bl.y && tr.y < br.y);
});

test('minAreaRect of a rotated rectangle is that rectangle, its long side first', () => {
  const corners = [
    { x: 10, y: 0 },
    { x: 40, y: 30 },
    { x: 30, y: 40 },
    { x: 0, y: 10 },
  ];
  const inside = [{ x: 20, y: 20 }, { x: 15, y: 10 }];
  const { quad, shortSide } = minAreaRect([...inside, ...corners]);
  assert.ok(Math.abs(shortSide - Math.hypot(10, 10)) < 1e-9);
  // At 45 degrees the upper of the two leftmost corners, (10, 0), is the top-left.
  assert.deepEqual(rounded(quad), [[10, 0], [40, 30], [30, 40], [0, 10]]);
});

test('the detector input: sides rounded to multiples of 32, the longer side at most the limit', () => {
  assert.deepEqual(detInputSize(640, 160, 960), { width: 640, height: 160 });
  assert.deepEqual(detInputSize(650, 170, 960), { width: 640, height: 160 });
  assert.deepEqual(detInputSize(1920, 1080, 960), { width: 960, height: 544 });
  assert.deepEqual(detInputSize(10, 5, 960), { width: 32, height: 32 });
});
