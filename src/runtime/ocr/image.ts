/**
 * Image decoding for OCR with sharp (libvips, prebuilt from npm): any format sharp reads, EXIF
 * orientation applied, transparency flattened onto white (black text on a transparent PNG must
 * stay readable), always 8-bit sRGB with three channels.
 */
import sharp from 'sharp';
import { ModelMoraError } from '../../domain/errors.js';

export interface RgbImage {
  /** Row-major RGB, 3 bytes a pixel. */
  data: Uint8Array;
  width: number;
  height: number;
}

/** Throws INVALID_INPUT (naming the item, never the bytes) when the bytes are not an image. */
export async function decodeImage(bytes: Uint8Array, index: number): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(bytes)
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch {
    throw new ModelMoraError('INVALID_INPUT', `Input ${index} is not an image this model can decode`);
  }
}

/** Resizes with a linear kernel (OpenCV's INTER_LINEAR is what PaddleOCR trained with). */
export async function resizeRgb(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
}
