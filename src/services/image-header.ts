/**
 * Image format and size read from the first bytes of a file, without decoding it. The daemon
 * refuses an image whose header declares too many pixels before a decoder ever allocates them
 * (a 20000x20000 PNG fits in 200 bytes and would need 1.6 GB decoded).
 */

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'bmp' | 'tiff';

export interface ImageHeader {
  format: ImageFormat;
  /** Undefined when the format was recognised but its size could not be read (truncated, odd variant). */
  width: number | undefined;
  height: number | undefined;
}

/** The format from the magic bytes, or undefined when the bytes are not one we know. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (starts(0xff, 0xd8, 0xff)) return 'jpeg';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'webp';
  if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return 'gif';
  if (starts(0x42, 0x4d) && bytes.length >= 26) return 'bmp';
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  return undefined;
}

/** Format and declared size; undefined when the magic bytes are not an image format we know. */
export function readImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  const format = sniffImageFormat(bytes);
  if (!format) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let size: [number, number] | undefined;
  try {
    size = READERS[format](bytes, view);
  } catch (err) {
    // DataView throws RangeError past the end: a truncated header has no readable size.
    if (!(err instanceof RangeError)) throw err;
  }
  return { format, width: size?.[0], height: size?.[1] };
}

type SizeReader = (bytes: Uint8Array, view: DataView) => [number, number] | undefined;

const READERS: Record<ImageFormat, SizeReader> = {
  // Signature, then the IHDR chunk: length, "IHDR", width, height (big-endian).
  png: (bytes, view) => (ascii(bytes, 12, 4) === 'IHDR' ? [view.getUint32(16), view.getUint32(20)] : undefined),
  gif: (_bytes, view) => [view.getUint16(6, true), view.getUint16(8, true)],
  bmp: (_bytes, view) => {
    const dibSize = view.getUint32(14, true);
    if (dibSize === 12) return [view.getUint16(18, true), view.getUint16(20, true)];
    // Height is negative for top-down bitmaps.
    return [Math.abs(view.getInt32(18, true)), Math.abs(view.getInt32(22, true))];
  },
  webp: readWebp,
  jpeg: readJpeg,
  tiff: readTiff,
};

function readWebp(bytes: Uint8Array, view: DataView): [number, number] | undefined {
  const chunk = ascii(bytes, 12, 4);
  if (chunk === 'VP8 ') {
    // Lossy: a 3-byte frame tag, the start code 9d 01 2a, then 14-bit width and height.
    if (bytes[23] !== 0x9d || bytes[24] !== 0x01 || bytes[25] !== 0x2a) return undefined;
    return [view.getUint16(26, true) & 0x3fff, view.getUint16(28, true) & 0x3fff];
  }
  if (chunk === 'VP8L') {
    // Lossless: signature 0x2f, then width-1 and height-1 as two 14-bit fields.
    if (bytes[20] !== 0x2f) return undefined;
    const bits = view.getUint32(21, true);
    return [(bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1];
  }
  if (chunk === 'VP8X') {
    // Extended: canvas width-1 and height-1 as 24-bit little-endian numbers.
    const u24 = (at: number) => bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
    if (bytes.length < 30) return undefined;
    return [u24(24) + 1, u24(27) + 1];
  }
  return undefined;
}

/** Start-of-frame markers that carry the image size (every SOFn but DHT, JPG and DAC). */
const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Walks the marker segments up to the first SOFn; every step moves forward, so it ends. */
function readJpeg(bytes: Uint8Array, view: DataView): [number, number] | undefined {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // standalone markers have no length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan data or end before any frame
    const length = view.getUint16(at + 2);
    if (length < 2) return undefined;
    if (SOF_MARKERS.has(marker)) return [view.getUint16(at + 7), view.getUint16(at + 5)];
    at += 2 + length;
  }
  return undefined;
}

/** Classic TIFF: the first IFD's ImageWidth (256) and ImageLength (257) entries. */
function readTiff(bytes: Uint8Array, view: DataView): [number, number] | undefined {
  const little = bytes[0] === 0x49;
  const ifd = view.getUint32(4, little);
  const count = view.getUint16(ifd, little);
  let width: number | undefined;
  let height: number | undefined;
  for (let i = 0; i < count && (width === undefined || height === undefined); i++) {
    const entry = ifd + 2 + i * 12;
    const tag = view.getUint16(entry, little);
    if (tag !== 256 && tag !== 257) continue;
    const type = view.getUint16(entry + 2, little);
    const value = type === 3 ? view.getUint16(entry + 8, little) : type === 4 ? view.getUint32(entry + 8, little) : undefined;
    if (tag === 256) width = value;
    else height = value;
  }
  return width === undefined || height === undefined ? undefined : [width, height];
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  if (bytes.length < start + length) return '';
  return String.fromCharCode(...bytes.subarray(start, start + length));
}
