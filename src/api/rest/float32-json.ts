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
 *
 * float32ArrayJson then writes q's digits as text itself: V8's double-to-text (what
 * JSON.stringify does per number) costs more than finding the digits.
 */

/** 10^0 .. 10^22, each exact in a double (parsed, so never off by a rounding). */
const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** Fewest tried: a value that needs fewer digits is found here too, as its trailing zeros vanish. */
const MIN_DIGITS = 6;
/** 9 significant digits always round-trip a float32. */
const MAX_DIGITS = 9;
/** tryDigits' answer when 10^k is out of the exact range. */
const OUT_OF_RANGE = -2;

/** The power of ten of the last digits found: the value is q / 10^k (q * 10^-k when k < 0). */
let foundK = 0;

/**
 * The digits of |v| (a positive float32) as an integer q with q / 10^foundK reading back as
 * |v|: the fewest from 6 to 9. If n digits round-trip, n + 1 do too (the n-digit number is one
 * of them), so the search starts in the middle: 7, then 6 or 8, then 9. Random embedding values
 * mostly need 8 (about 2 tries). Returns -1 when the fast path cannot answer.
 */
function shortestDigits(a: number): number {
  const exponent = decimalExponent(a);
  let digits = 7;
  let q = tryDigits(a, exponent, digits);
  if (q >= 0) {
    const shorter = tryDigits(a, exponent, MIN_DIGITS);
    if (shorter >= 0) {
      q = shorter;
      digits = MIN_DIGITS;
    }
  } else if (q !== OUT_OF_RANGE) {
    digits = 8;
    q = tryDigits(a, exponent, digits);
    if (q === -1) q = tryDigits(a, exponent, (digits = MAX_DIGITS));
  }
  if (q < 0) return -1;
  foundK = digits - 1 - exponent;
  return q;
}

/** 10^0 .. 10^-22 as the doubles nearest to them. */
const NEG_POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => Number(`1e-${i}`));

/**
 * floor(log10(a)): digits before the decimal point minus one. Found by comparing with the
 * powers of ten (one to three comparisons for embedding values) rather than with Math.log10, a
 * call into C that was a third of this file's time. Next to a power of ten below 1 (whose
 * double is not exact) it may be one off, as Math.log10 may: that only makes a candidate carry
 * a digit more or less, and every candidate is checked.
 */
function decimalExponent(a: number): number {
  let e = 0;
  if (a >= 1) {
    while (e < 22 && a >= POW10[e + 1]!) e++;
  } else {
    e = -1;
    while (e > -22 && a < NEG_POW10[-e]!) e--;
  }
  return e > -22 && e < 22 ? e : Math.floor(Math.log10(a));
}

/** round(|v| * 10^k) for `digits` significant digits if it reads back as |v|; -1 if not; OUT_OF_RANGE. */
function tryDigits(a: number, exponent: number, digits: number): number {
  const k = digits - 1 - exponent;
  if (k >= 0) {
    if (k > 22) return OUT_OF_RANGE;
    const scale = POW10[k]!;
    const q = Math.round(a * scale);
    return Math.fround(q / scale) === a ? q : -1;
  }
  if (-k > 22) return OUT_OF_RANGE;
  const scale = POW10[-k]!;
  const q = Math.round(a / scale);
  return Math.fround(q * scale) === a ? q : -1;
}

/** The number with the fewest digits (from 6 to 9) that reads back as the float32 `v`. */
export function shortestFloat32(v: number): number {
  if (v === 0) return 0;
  if (!Number.isFinite(v)) return v;
  const a = v < 0 ? -v : v;
  const q = shortestDigits(a);
  if (q < 0) return slowShortest(v);
  const found = foundK >= 0 ? q / POW10[foundK]! : q * POW10[-foundK]!;
  return v < 0 ? -found : found;
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
    if (v !== v) throw notANumber();
    out[i] = float32 ? shortestFloat32(v) : v;
  }
  return out;
}

/** Longest text of one float32: `-0.000001234567891` (exponent forms are shorter). */
const MAX_FLOAT_CHARS = 24;
/** Reused between calls (all synchronous); grown for larger embeddings. */
let scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * JSON.stringify(float32Numbers(values)), the same text, written digit by digit. Numbers keep
 * JavaScript's layout (what a client's JSON.parse + toString shows): `0.0123`, `12.5`, `3`, and
 * exponents below 1e-6 and from 1e21, which take the generic path.
 */
export function float32ArrayJson(values: Float32Array): string {
  const need = values.length * (MAX_FLOAT_CHARS + 1) + 2;
  if (scratch.length < need) scratch = Buffer.allocUnsafe(need);
  const buf = scratch;
  let pos = 0;
  buf[pos++] = 0x5b; // [
  for (let i = 0; i < values.length; i++) {
    if (i > 0) buf[pos++] = 0x2c; // ,
    pos = writeFloat32(buf, pos, values[i]!);
  }
  buf[pos++] = 0x5d; // ]
  return buf.toString('latin1', 0, pos);
}

function writeFloat32(buf: Buffer, start: number, v: number): number {
  if (v !== v) throw notANumber();
  if (v === 0) {
    buf[start] = 0x30;
    return start + 1;
  }
  const a = v < 0 ? -v : v;
  let q = a === Infinity ? -1 : shortestDigits(a);
  let k = foundK;
  if (q < 0 || k < 0 || q > 0x7fffffff) return writeText(buf, start, JSON.stringify(shortestFloat32(v)));
  // q < 2^31 here (9 digits, 10 if log10 was one off), so the digit loops run on int32 arithmetic.
  q |= 0;
  for (let quot = (q / 10) | 0; q === quot * 10; quot = (q / 10) | 0) {
    q = quot;
    k--;
  }
  const m = digitCount(q);
  // The value is 0.d1..dm * 10^n, as in ECMAScript's Number::toString.
  const n = m - k;
  if (n <= -6 || n > 21) return writeText(buf, start, JSON.stringify(shortestFloat32(v)));
  let pos = start;
  if (v < 0) buf[pos++] = 0x2d; // -
  if (n <= 0) {
    buf[pos++] = 0x30;
    buf[pos++] = 0x2e; // 0.
    for (let i = 0; i < -n; i++) buf[pos++] = 0x30;
    return writeDigits(buf, pos, q, m);
  }
  if (n >= m) {
    pos = writeDigits(buf, pos, q, m);
    for (let i = m; i < n; i++) buf[pos++] = 0x30;
    return pos;
  }
  const low = POW10[m - n]!;
  const high = Math.floor(q / low);
  pos = writeDigits(buf, pos, high, n);
  buf[pos++] = 0x2e; // .
  return writeDigits(buf, pos, q - high * low, m - n);
}

/** The `count` decimal digits of q (zero-padded on the left), written at pos. */
function writeDigits(buf: Buffer, pos: number, q: number, count: number): number {
  let rest = q | 0;
  for (let i = pos + count - 1; i >= pos; i--) {
    const quot = (rest / 10) | 0;
    buf[i] = 0x30 + rest - quot * 10;
    rest = quot;
  }
  return pos + count;
}

function digitCount(q: number): number {
  let m = 1;
  while (m < 22 && q >= POW10[m]!) m++;
  return m;
}

function writeText(buf: Buffer, pos: number, text: string): number {
  return pos + buf.write(text, pos, 'latin1');
}

function notANumber(): ModelMoraError {
  return new ModelMoraError('INFERENCE_FAILED', 'The model returned an embedding value that is not a number (NaN)');
}
