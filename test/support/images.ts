import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/**
 * Images for tests: real ones encoded by sharp, and hand-built headers that declare any size
 * in a few bytes (a 20000x20000 PNG in under 200 bytes) to prove nothing decodes them.
 */

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A well-formed PNG structure whose IHDR declares width x height; its IDAT holds one row only. */
export function pngDeclaring(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + Math.min(width, 16)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A GIF header (logical screen descriptor) declaring width x height, nothing after it. */
export function gifDeclaring(width: number, height: number): Buffer {
  const b = Buffer.alloc(13);
  b.write('GIF89a', 0, 'ascii');
  b.writeUInt16LE(width, 6);
  b.writeUInt16LE(height, 8);
  return b;
}

/** SOI, an APP0 segment, then a SOF0 declaring width x height. */
export function jpegDeclaring(width: number, height: number): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x11, 8, 0, 0, 0, 0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof]);
}

/** RIFF/WEBP with a VP8X chunk whose canvas is width x height. */
export function webpDeclaring(width: number, height: number): Buffer {
  const b = Buffer.alloc(30);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(22, 4);
  b.write('WEBPVP8X', 8, 'ascii');
  b.writeUInt32LE(10, 16);
  b.writeUIntLE(width - 1, 24, 3);
  b.writeUIntLE(height - 1, 27, 3);
  return b;
}

/** Little-endian TIFF with one IFD holding ImageWidth and ImageLength as LONGs. */
export function tiffDeclaring(width: number, height: number): Buffer {
  const b = Buffer.alloc(8 + 2 + 2 * 12 + 4);
  b.write('II', 0, 'ascii');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(8, 4);
  b.writeUInt16LE(2, 8);
  [[256, width], [257, height]].forEach(([tag, value], i) => {
    const at = 10 + i * 12;
    b.writeUInt16LE(tag!, at);
    b.writeUInt16LE(4, at + 2);
    b.writeUInt32LE(1, at + 4);
    b.writeUInt32LE(value!, at + 8);
  });
  return b;
}

/** A BMP file header + BITMAPINFOHEADER declaring width x height (top-down: negative height). */
export function bmpDeclaring(width: number, height: number): Buffer {
  const b = Buffer.alloc(54);
  b.write('BM', 0, 'ascii');
  b.writeUInt32LE(54, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(-height, 22);
  return b;
}

export type Encoded = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff';

/**
 * A small picture drawn from shapes: `scene` picks which, `shift` moves everything by that many
 * pixels. Two shifts of one scene are "the same picture"; two scenes are different pictures.
 */
export async function renderScene(scene: 'circles' | 'stripes' | 'text', options: { size?: number; shift?: number; format?: Encoded; label?: string } = {}): Promise<Buffer> {
  const size = options.size ?? 64;
  const d = options.shift ?? 0;
  const shapes = {
    circles: `<rect width="100%" height="100%" fill="#f4f0e0"/><circle cx="${20 + d}" cy="${22 + d}" r="14" fill="#d02020"/><circle cx="${44 + d}" cy="${42 + d}" r="12" fill="#2040c0"/>`,
    stripes: `<rect width="100%" height="100%" fill="#102010"/>${[0, 1, 2, 3].map((i) => `<rect x="${i * 16 + d}" y="0" width="8" height="${size}" fill="#40e040"/>`).join('')}`,
    text: `<rect width="100%" height="100%" fill="white"/><text x="${4 + d}" y="${size / 2 + d}" font-size="${Math.round(size / 5)}" font-family="sans-serif" fill="black">${options.label ?? 'Hello'}</text>`,
  }[scene];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">${shapes}</svg>`;
  const image = sharp(Buffer.from(svg));
  const format = options.format ?? 'png';
  return format === 'jpeg' ? image.jpeg({ quality: 95 }).toBuffer() : image.toFormat(format).toBuffer();
}

/** An encoded w x h image of flat colour, for header round-trips. */
export function solidImage(format: Encoded, width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 60 } } }).toFormat(format).toBuffer();
}

export function dataUrl(bytes: Buffer, mime = 'image/png'): string {
  return `data:${mime};base64,${bytes.toString('base64')}`;
}
