import { ModelMoraError } from '../../domain/errors.js';

/**
 * float32 values as JSON numbers with few digits that still round-trip: the JSON text of
 * shortestFloat32(v), parsed and rounded to float32, gives v back (0.1, not 0.10000000149011612).
 *
 * This runs for every float of every embedding answered over REST (100 to 1,024 per text), so it
 * avoids toPrecision and Number(string): the candidate with n significant digits is the integer
 * q = round(|v| * 10^k) scaled back by the same power of ten. While q < 2^53 and 10^k is exact
 * (k <= 22), q / 10^k (or q * 10^-k) is one correctly rounded operation, so it is exactly the
 * double that parsing the decimal text would give (Clinger's fast path): checking that double
 * with Math.fround checks what a client will read. Values outside that range (below about 1e-14
 * or above 1e21 in magnitude) take the slow path with toPrecision.
 */

/** 10^0 .. 10^22, each exact in a double (parsed, so never off by a rounding). */
const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** Fewest tried: a value that needs fewer digits is found here too, as its trailing zeros vanish. */
const MIN_DIGITS = 6;
/** 9 significant digits always round-trip a float32. */
const MAX_DIGITS = 9;
/** tryDigits' answer when 10^k is out of the exact range. */
const OUT_OF_RANGE = -2;

/**
 * The number with the fewest digits (from 6 to 9) that reads back as the float32 `v`. If n
 * digits round-trip, n + 1 do too (the n-digit number is one of them), so the search starts in
 * the middle: 7, then 6 or 8, then 9. Random embedding values mostly need 8 (about 2 tries).
 */
export function shortestFloat32(v: number): number {
  if (v === 0) return 0;
  if (!Number.isFinite(v)) return v;
  const a = v < 0 ? -v : v;
  // Digits before the decimal point minus one; Math.log10 may be one off next to a power of ten,
  // which only makes a candidate carry a digit more or less: every candidate is checked.
  const exponent = Math.floor(Math.log10(a));
  let found = tryDigits(a, exponent, 7);
  if (found >= 0) {
    const shorter = tryDigits(a, exponent, MIN_DIGITS);
    if (shorter >= 0) found = shorter;
  } else if (found !== OUT_OF_RANGE) {
    found = tryDigits(a, exponent, 8);
    if (found === -1) found = tryDigits(a, exponent, MAX_DIGITS);
  }
  if (found < 0) return slowShortest(v);
  return v < 0 ? -found : found;
}

/** |v| rounded to `digits` significant digits if that reads back as |v|; -1 if not; OUT_OF_RANGE. */
function tryDigits(a: number, exponent: number, digits: number): number {
  const k = digits - 1 - exponent;
  let candidate: number;
  if (k >= 0) {
    if (k > 22) return OUT_OF_RANGE;
    const scale = POW10[k]!;
    candidate = Math.round(a * scale) / scale;
  } else {
    if (-k > 22) return OUT_OF_RANGE;
    const scale = POW10[-k]!;
    candidate = Math.round(a / scale) * scale;
  }
  return Math.fround(candidate) === a ? candidate : -1;
}

/** The same search through decimal text, for magnitudes the fast path cannot scale exactly. */
function slowShortest(v: number): number {
  for (let digits = MIN_DIGITS; digits < MAX_DIGITS; digits++) {
    const candidate = Number(v.toPrecision(digits));
    if (Math.fround(candidate) === v) return candidate;
  }
  return Number(v.toPrecision(MAX_DIGITS));
}

/**
 * An embedding as JSON-ready numbers: float32 ones shortened, plain numbers as they are. JSON
 * has no NaN (JSON.stringify would write null), so a NaN is a failed inference; an infinity is
 * written as null, as the response serializer always did.
 */
export function float32Numbers(values: Float32Array | number[]): number[] {
  const out = new Array<number>(values.length);
  const float32 = values instanceof Float32Array;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== v) throw new ModelMoraError('INFERENCE_FAILED', 'The model returned an embedding value that is not a number (NaN)');
    out[i] = float32 ? shortestFloat32(v) : v;
  }
  return out;
}
