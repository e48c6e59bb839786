import { ModelMoraError, type FieldError } from '../domain/errors.js';
import type { InferenceItem } from '../domain/inference.js';
import { readImageHeader, type ImageHeader } from './image-header.js';

/**
 * Checks of an image input, all in the daemon and before any work is queued: the encoding
 * (REST base64 or a data URL), the magic bytes, the size the header declares, and finally that
 * the bytes decode. Every failure is INVALID_INPUT (400) naming the field; nothing reaches a runner.
 */

export interface ImageLimits {
  /** Largest width*height an image header may declare. */
  max_image_pixels: number;
}

/** Formats a runner can decode (transformers.js RawImage and sharp, whose libvips has no BMP loader). */
const DECODABLE = 'PNG, JPEG, WebP, GIF or TIFF';
const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * REST: raw base64 or a `data:image/<type>;base64,` URL -> bytes, or a problem in words.
 * Whitespace (line-wrapped base64) is ignored.
 */
export function parseImageString(value: string): { bytes: Uint8Array } | { problem: string } {
  let data = value;
  const url = DATA_URL.exec(value);
  if (url) {
    const mime = url[1]!.trim().toLowerCase();
    if (!mime.startsWith('image/')) return { problem: `data URL type '${printable(mime) || 'none'}' is not an image type` };
    if (!/;base64$/i.test(url[2]!)) return { problem: 'data URL must be base64-encoded (data:image/...;base64,...)' };
    data = value.slice(url[0].length);
  } else if (/^data:/i.test(value)) {
    return { problem: 'is not a valid data URL' };
  }
  data = data.replace(/\s+/g, '');
  if (data.length === 0 || data.length % 4 !== 0 || !BASE64.test(data)) {
    return { problem: 'must be base64 (optionally a data:image/...;base64, URL)' };
  }
  return { bytes: new Uint8Array(Buffer.from(data, 'base64')) };
}

/** What is wrong with these image bytes from their header alone, or undefined if nothing. */
export function imageBytesProblem(bytes: Uint8Array, limits: ImageLimits): string | undefined {
  if (bytes.length === 0) return 'is empty';
  const header = readImageHeader(bytes);
  if (!header) return `is not an image (expected ${DECODABLE})`;
  return headerProblem(header, limits);
}

function headerProblem(header: ImageHeader, limits: ImageLimits): string | undefined {
  if (header.format === 'bmp') return `BMP images are not supported; send ${DECODABLE}`;
  const { width, height } = header;
  if (width === undefined || height === undefined) return `is a ${header.format.toUpperCase()} whose header has no readable size`;
  if (width === 0 || height === 0) return `is a ${header.format.toUpperCase()} of ${width}x${height} pixels`;
  if (width * height > limits.max_image_pixels) {
    return `is ${width}x${height} = ${width * height} pixels; at most ${limits.max_image_pixels} are allowed`;
  }
  return undefined;
}

/**
 * gRPC (raw bytes) and any other caller holding bytes: checks the header and returns it, or
 * throws INVALID_INPUT. The decode check is checkImagesDecode (async).
 */
export function checkImageBytes(bytes: Uint8Array, limits: ImageLimits, field = 'input_data.image'): ImageHeader {
  const problem = imageBytesProblem(bytes, limits);
  if (problem) throw invalidImages([{ field, message: problem }]);
  return readImageHeader(bytes)!;
}

/** One INVALID_INPUT for every bad image of a request, each named by its field. */
export function invalidImages(fieldErrors: FieldError[]): ModelMoraError {
  const first = fieldErrors[0]!;
  const more = fieldErrors.length > 1 ? ` (and ${fieldErrors.length - 1} more)` : '';
  return new ModelMoraError('INVALID_INPUT', `${first.field} ${first.message}${more}`, { fieldErrors });
}

type Sharp = (typeof import('sharp'))['default'];
let sharpModule: Promise<Sharp> | undefined;

/** sharp (libvips) is loaded by the daemon only once an image request arrives. */
function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then((m) => m.default);
  return sharpModule;
}

/**
 * Decodes every image item fully (libvips, on its own threads, one image at a time to bound
 * memory) and throws INVALID_INPUT listing those that do not decode: corrupt or truncated data
 * behind a valid header. Items that are not images are skipped.
 */
export async function checkImagesDecode(items: readonly InferenceItem[], limits: ImageLimits, field = 'input_data.image', listed = items.length > 1): Promise<void> {
  if (!items.some((item) => item.kind === 'image')) return;
  const sharp = await loadSharp();
  const errors: FieldError[] = [];
  for (const [i, item] of items.entries()) {
    if (item.kind !== 'image') continue;
    try {
      // failOn 'truncated': cut-off files fail; libvips' mere warnings (odd but readable files) pass.
      await sharp(item.image, { limitInputPixels: limits.max_image_pixels, failOn: 'truncated' }).stats();
    } catch {
      errors.push({ field: listed ? `${field}[${i}]` : field, message: 'does not decode as an image (corrupt or truncated data)' });
    }
  }
  if (errors.length > 0) throw invalidImages(errors);
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 60);
}
