/**
 * Plane geometry for text boxes: the convex hull and minimum-area rectangle of a detected
 * region (OpenCV's minAreaRect, which PaddleOCR's DB post-processing relies on), corner order,
 * and the "unclip" that grows a shrunk text kernel back to the text's full extent.
 */

export interface Point {
  x: number;
  y: number;
}

/** Corners in reading order: top-left, top-right, bottom-right, bottom-left. */
export type Quad = [Point, Point, Point, Point];

const cross = (o: Point, a: Point, b: Point): number => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
const distance = (a: Point, b: Point): number => Math.hypot(a.x - b.x, a.y - b.y);

/** Andrew's monotone chain; counter-clockwise (in y-down coordinates: clockwise on screen). */
export function convexHull(points: readonly Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  if (sorted.length <= 2) return sorted;
  const lower: Point[] = [];
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = sorted.length - 1; i >= 0; i--) {
    const p = sorted[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/**
 * The smallest rectangle around the points (rotating calipers: one side of the optimum lies on
 * a hull edge), with its corners ordered as a Quad. Fewer than three distinct points give a
 * degenerate rectangle with a zero side, which callers drop by size.
 */
export function minAreaRect(points: readonly Point[]): { quad: Quad; shortSide: number } {
  const hull = convexHull(points);
  if (hull.length === 0) throw new RangeError('minAreaRect needs at least one point');
  let best: Point[] | undefined;
  let bestArea = Infinity;
  const edges = hull.length === 1 ? 1 : hull.length;
  for (let i = 0; i < edges; i++) {
    const a = hull[i]!;
    const b = hull[(i + 1) % hull.length]!;
    const length = distance(a, b);
    // A single point (or a zero edge) has no direction: measure it axis-aligned.
    const ux = length > 0 ? (b.x - a.x) / length : 1;
    const uy = length > 0 ? (b.y - a.y) / length : 0;
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const p of hull) {
      const u = p.x * ux + p.y * uy;
      const v = -p.x * uy + p.y * ux;
      minU = Math.min(minU, u);
      maxU = Math.max(maxU, u);
      minV = Math.min(minV, v);
      maxV = Math.max(maxV, v);
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea) {
      bestArea = area;
      const corner = (u: number, v: number): Point => ({ x: u * ux - v * uy, y: u * uy + v * ux });
      best = [corner(minU, minV), corner(maxU, minV), corner(maxU, maxV), corner(minU, maxV)];
    }
  }
  const quad = orderCorners(best!);
  return { quad, shortSide: Math.min(distance(quad[0], quad[1]), distance(quad[0], quad[3])) };
}

/**
 * PaddleOCR's get_mini_boxes order: of the two leftmost corners the upper is top-left, of the
 * two rightmost the upper is top-right. Text tilted up to 45 degrees keeps its reading order.
 */
export function orderCorners(corners: readonly Point[]): Quad {
  const byX = [...corners].sort((a, b) => a.x - b.x || a.y - b.y);
  const [l1, l2, r1, r2] = byX as [Point, Point, Point, Point];
  const [tl, bl] = l1.y <= l2.y ? [l1, l2] : [l2, l1];
  const [tr, br] = r1.y <= r2.y ? [r1, r2] : [r2, r1];
  return [tl, tr, br, bl];
}

/**
 * DB's unclip: the detector predicts a kernel shrunk by D = A(1 - r^2)/L, so the box is grown by
 * D' = A * ratio / L (A area, L perimeter). For a rectangle, pyclipper's round-joined offset has
 * the rectangle grown by D' on every side as its minimum-area rectangle, which is what PaddleOCR
 * keeps; so a rectangle is grown directly.
 */
export function unclipRect(quad: Quad, ratio: number): Quad {
  const width = distance(quad[0], quad[1]);
  const height = distance(quad[0], quad[3]);
  const perimeter = 2 * (width + height);
  if (perimeter === 0) return quad;
  const offset = (width * height * ratio) / perimeter;
  const ux = width > 0 ? (quad[1].x - quad[0].x) / width : 1;
  const uy = width > 0 ? (quad[1].y - quad[0].y) / width : 0;
  const vx = height > 0 ? (quad[3].x - quad[0].x) / height : 0;
  const vy = height > 0 ? (quad[3].y - quad[0].y) / height : 1;
  const move = (p: Point, su: number, sv: number): Point => ({
    x: p.x + offset * (su * ux + sv * vx),
    y: p.y + offset * (su * uy + sv * vy),
  });
  return [move(quad[0], -1, -1), move(quad[1], 1, -1), move(quad[2], 1, 1), move(quad[3], -1, 1)];
}

export function quadWidth(quad: Quad): number {
  return Math.max(distance(quad[0], quad[1]), distance(quad[3], quad[2]));
}

export function quadHeight(quad: Quad): number {
  return Math.max(distance(quad[0], quad[3]), distance(quad[1], quad[2]));
}

/** Inside or on the border of a convex quad (either winding). */
export function insideConvexQuad(quad: Quad, p: Point, tolerance = 1e-9): boolean {
  let sign = 0;
  for (let i = 0; i < 4; i++) {
    const a = quad[i]!;
    const b = quad[(i + 1) % 4]!;
    const length = distance(a, b);
    if (length === 0) continue;
    const side = cross(a, b, p) / length;
    if (Math.abs(side) <= tolerance) continue;
    const s = Math.sign(side);
    if (sign === 0) sign = s;
    else if (s !== sign) return false;
  }
  return true;
}
