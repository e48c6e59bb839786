import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { float32ArrayJson, float32Numbers, shortestFloat32 } from '../../../src/api/rest/float32-json.js';

/** The definition the fast path must match: fewest of 6..9 significant digits that round-trip, by text. */
function byText(v: number): number {
  for (let digits = 6; digits < 9; digits++) {
    const candidate = Number(v.toPrecision(digits));
    if (Math.fround(candidate) === v) return candidate;
  }
  return Number(v.toPrecision(9));
}

/** What a client reads back: the JSON text parsed and rounded to float32. */
function readBack(n: number): number {
  return Math.fround(JSON.parse(JSON.stringify(n)) as number);
}

/** Deterministic float32 bit patterns (xorshift32), finite ones only. */
function float32s(count: number, seed: number): Float32Array {
  const bits = new Uint32Array(1);
  const value = new Float32Array(bits.buffer);
  const out = new Float32Array(count);
  let state = seed;
  for (let i = 0; i < count; ) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bits[0] = state >>> 0;
    if (Number.isFinite(value[0]!)) out[i++] = value[0]!;
  }
  return out;
}

describe('shortestFloat32', () => {
  it('round-trips every float32 bit pattern of a wide sample, with the digits the text search picks', () => {
    for (const v of float32s(200_000, 0x9e3779b9)) {
      const got = shortestFloat32(v);
      assert.equal(readBack(got), Math.fround(v), `value ${v}`);
      assert.equal(got, byText(v), `value ${v}`);
    }
  });

  it('round-trips embedding-like values (small magnitudes around zero)', () => {
    const values = float32s(100_000, 12345).map((v) => (v % 1) * 0.3 || 0.25);
    for (const v of values) {
      const got = shortestFloat32(v);
      assert.equal(readBack(got), v);
      assert.equal(got, byText(v));
    }
  });

  it('handles the edges: zeros, subnormals, the extremes, powers of ten, infinities', () => {
    const edges = [0, -0, 1.401298464324817e-45, -1.401298464324817e-45, 1.1754943508222875e-38, 3.4028234663852886e38, -3.4028234663852886e38,
      1e-14, 1e-15, 1e-7, 1e-6, 0.1, 1, 10, 1e6, 1e7, 1e21, 1e22, 1e23, 16777216, 16777218, 0.30000001192092896];
    for (const e of edges) {
      const v = Math.fround(e);
      const got = shortestFloat32(v);
      assert.equal(readBack(got), v === 0 ? 0 : v, `edge ${e}`);
      assert.equal(got, byText(v), `edge ${e}`);
    }
    assert.equal(shortestFloat32(Infinity), Infinity);
    assert.equal(shortestFloat32(-Infinity), -Infinity);
  });

  it('prints short values short', () => {
    assert.equal(JSON.stringify(float32Numbers(Float32Array.from([0.1, -1 / 3, 1e-8, 0.123456789, 3, 0.5]))), '[0.1,-0.33333334,1e-8,0.12345679,3,0.5]');
  });
});

describe('float32Numbers', () => {
  it('keeps plain number arrays and refuses NaN, which JSON cannot carry', () => {
    assert.deepEqual(float32Numbers([0.1, 2]), [0.1, 2]);
    assert.throws(() => float32Numbers(Float32Array.from([1, NaN])), (err: unknown) => err instanceof ModelMoraError && err.code === 'INFERENCE_FAILED');
    assert.equal(JSON.stringify(float32Numbers(Float32Array.from([Infinity]))), '[null]');
  });
});

describe('float32ArrayJson', () => {
  it('writes the text JSON.stringify writes for the shortened numbers, over every magnitude', () => {
    const wide = float32s(100_000, 0x2545f491);
    for (let i = 0; i < wide.length; i += 1000) {
      const chunk = wide.subarray(i, i + 1000);
      assert.equal(float32ArrayJson(chunk), JSON.stringify(float32Numbers(chunk)));
    }
    const embedding = float32s(50_000, 777).map((v) => (v % 1) * 0.2);
    assert.equal(float32ArrayJson(embedding), JSON.stringify(float32Numbers(embedding)));
  });

  it('lays out integers, decimals and exponents as JavaScript does', () => {
    const values = Float32Array.from([0, -0, 3, -12, 1e6, 16777216, 1e20, 1e21, 12.5, 123456.78, 0.5, 1e-6, 1.5e-7, -2e-7, 0.000012345, Infinity, -Infinity]);
    assert.equal(float32ArrayJson(values), JSON.stringify(float32Numbers(values)));
    assert.equal(float32ArrayJson(new Float32Array(0)), '[]');
  });

  it('refuses NaN', () => {
    assert.throws(() => float32ArrayJson(Float32Array.from([0.5, NaN])), (err: unknown) => err instanceof ModelMoraError && err.code === 'INFERENCE_FAILED');
  });
});
