/**
 * Turning raw GloVe vectors into the rows of the embedding table.
 *
 * A plain mean of GloVe vectors is dominated by frequent words ("the", "on", "a") and by one
 * direction all word vectors share, so unrelated sentences look alike. Two fixes from SIF
 * (Arora et al., "A simple but tough-to-beat baseline for sentence embeddings", 2017), both
 * baked into the rows so the graph stays a plain lookup and mean pooling stays linear:
 * - each word vector is scaled by a / (a + p(w)), with p(w) estimated from the word's rank
 *   (Zipf's law: p ~ 1 / rank), so rare words weigh more;
 * - the frequency-weighted first principal direction of the rows is projected out of every row.
 * Only + - * / and sqrt are used (no log or exp), which IEEE 754 rounds exactly everywhere, so
 * the rows and hence the model bytes are the same on every machine.
 */

export interface WeightOptions {
  /** SIF's a; 1e-3 is the paper's usual choice. */
  a: number;
  /** Size of the full ranked list the ranks come from (the Zipf normaliser). */
  sourceSize: number;
  removeCommonDirection: boolean;
}

/** p(rank) under Zipf's law over `sourceSize` words: 1 / ((rank + 1) * H(sourceSize)). */
export function zipfProbabilities(ranks: readonly number[], sourceSize: number): Float64Array {
  let harmonic = 0;
  for (let k = sourceSize; k >= 1; k--) harmonic += 1 / k;
  return Float64Array.from(ranks, (r) => 1 / ((r + 1) * harmonic));
}

/**
 * Returns the weighted rows (float64, rows * dims, row-major) for vectors given in the same
 * order as `ranks`.
 */
export function weightRows(vectors: readonly Float32Array[], ranks: readonly number[], dims: number, options: WeightOptions): Float64Array {
  const p = zipfProbabilities(ranks, options.sourceSize);
  const rows = new Float64Array(vectors.length * dims);
  vectors.forEach((vec, i) => {
    const w = options.a / (options.a + (p[i] ?? 0));
    for (let d = 0; d < dims; d++) rows[i * dims + d] = (vec[d] ?? 0) * w;
  });
  if (options.removeCommonDirection && vectors.length > 0) {
    const u = commonDirection(rows, p, dims);
    for (let i = 0; i < vectors.length; i++) {
      let dot = 0;
      for (let d = 0; d < dims; d++) dot += (rows[i * dims + d] ?? 0) * (u[d] ?? 0);
      for (let d = 0; d < dims; d++) rows[i * dims + d] = (rows[i * dims + d] ?? 0) - dot * (u[d] ?? 0);
    }
  }
  return rows;
}

/**
 * Top eigenvector of sum_i p_i x_i x_i^T by power iteration from the frequency-weighted mean:
 * the direction a typical sentence's mean vector leans towards whatever it says.
 */
export function commonDirection(rows: Float64Array, p: Float64Array, dims: number): Float64Array {
  const n = p.length;
  const cov = new Float64Array(dims * dims);
  let u = new Float64Array(dims);
  for (let i = 0; i < n; i++) {
    const pi = p[i] ?? 0;
    for (let a = 0; a < dims; a++) {
      const xa = (rows[i * dims + a] ?? 0) * pi;
      u[a] = (u[a] ?? 0) + xa;
      for (let b = 0; b < dims; b++) cov[a * dims + b] = (cov[a * dims + b] ?? 0) + xa * (rows[i * dims + b] ?? 0);
    }
  }
  normalizeInPlace(u);
  for (let iter = 0; iter < 200; iter++) {
    const next = new Float64Array(dims);
    for (let a = 0; a < dims; a++) {
      let s = 0;
      for (let b = 0; b < dims; b++) s += (cov[a * dims + b] ?? 0) * (u[b] ?? 0);
      next[a] = s;
    }
    normalizeInPlace(next);
    u = next;
  }
  return u;
}

function normalizeInPlace(v: Float64Array): void {
  let s = 0;
  for (const x of v) s += x * x;
  const norm = Math.sqrt(s);
  if (norm === 0) {
    v[0] = 1;
    return;
  }
  for (let i = 0; i < v.length; i++) v[i] = (v[i] ?? 0) / norm;
}

export interface QuantizedRows {
  /** rows * dims int8 values. */
  values: Int8Array;
  /** One float32 scale per row: value = q * scale. Zero rows get scale 0. */
  scales: Float32Array;
}

/** Symmetric per-row int8 quantisation: scale = max|x| / 127, q = round(x / scale). */
export function quantizeRows(rows: Float64Array, dims: number): QuantizedRows {
  const count = rows.length / dims;
  const values = new Int8Array(rows.length);
  const scales = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let maxAbs = 0;
    for (let d = 0; d < dims; d++) maxAbs = Math.max(maxAbs, Math.abs(rows[i * dims + d] ?? 0));
    const scale = Math.fround(maxAbs / 127);
    scales[i] = scale;
    if (scale === 0) continue;
    for (let d = 0; d < dims; d++) {
      const q = Math.round((rows[i * dims + d] ?? 0) / scale);
      values[i * dims + d] = Math.max(-127, Math.min(127, q));
    }
  }
  return { values, scales };
}
