import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readImageHeader } from '../../../src/services/image-header.js';
import { checkImageBytes, checkImagesDecode, parseImageString } from '../../../src/services/image-input.js';
import * as input from '../../../src/services/inference-input.js';
import type { InputLimits, RequestOptions } from '../../../src/services/inference-input.js';
import { documentInput } from '../../../src/api/rest/infer.js';
import { ModelMoraError } from '../../../src/domain/errors.js';
import {

  bmpDeclaring, dataUrl, gifDeclaring, jpegDeclaring, pngDeclaring, renderScene, solidImage, tiffDeclaring, webpDeclaring, type Encoded,
} from '../../support/images.js';

/** The validator over a body in the API document's shape, as REST hands it over. */
const toInferenceRequest = (id: string, body: unknown, limits: InputLimits, options?: RequestOptions) => input.toInferenceRequest(id, documentInput(body), limits, options);
const readInferenceRequest = (id: string, body: unknown, limits: InputLimits, options?: RequestOptions) => input.readInferenceRequest(id, documentInput(body), limits, options);

const limits: InputLimits = { max_inputs: 3, max_text_chars: 10, default_timeout_seconds: 60, max_image_pixels: 178_956_970 };

/** The code and field errors toInferenceRequest (or the async variant) fails with. */
async function refusal(body: unknown, options: { taskType?: 'img2embed' } = { taskType: 'img2embed' }) {
  try {
    await readInferenceRequest('org/m', body, limits, options);
  } catch (err) {
    assert.ok(err instanceof ModelMoraError);
    return { code: err.code, status: err.httpStatus, fields: err.fieldErrors ?? [], message: err.message };
  }
  assert.fail('expected a refusal');
}

describe('image headers', () => {
  it('reads the size sharp wrote, for every decodable format, without decoding', async () => {
    for (const format of ['png', 'jpeg', 'webp', 'gif', 'tiff'] as Encoded[]) {
      for (const [w, h] of [[7, 5], [300, 2]]) {
        const header = readImageHeader(await solidImage(format, w!, h!));
        assert.deepEqual(header, { format, width: w, height: h }, `${format} ${w}x${h}`);
      }
    }
  });

  it('reads declared sizes from hand-built headers of every sniffed format', () => {
    const cases: [string, Buffer, string][] = [
      ['png', pngDeclaring(20000, 20000), 'png'],
      ['gif', gifDeclaring(65535, 3), 'gif'],
      ['jpeg', jpegDeclaring(40000, 50000), 'jpeg'],
      ['webp VP8X', webpDeclaring(16383 * 2, 9), 'webp'],
      ['tiff', tiffDeclaring(100000, 7), 'tiff'],
      ['bmp', bmpDeclaring(640, 480), 'bmp'],
    ];
    const sizes: Record<string, [number, number]> = {
      png: [20000, 20000], gif: [65535, 3], jpeg: [40000, 50000], 'webp VP8X': [32766, 9], tiff: [100000, 7], bmp: [640, 480],
    };
    for (const [name, bytes, format] of cases) {
      assert.deepEqual(readImageHeader(bytes), { format, width: sizes[name]![0], height: sizes[name]![1] }, name);
    }
    assert.ok(pngDeclaring(20000, 20000).length < 200, 'a 400-megapixel PNG header fits in 200 bytes');
  });

  it('has no size for a truncated header and no format for other bytes', () => {
    assert.deepEqual(readImageHeader(pngDeclaring(5, 5).subarray(0, 18)), { format: 'png', width: undefined, height: undefined });
    assert.deepEqual(readImageHeader(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2])), { format: 'jpeg', width: undefined, height: undefined });
    assert.equal(readImageHeader(Buffer.from('%PDF-1.7 not an image')), undefined);
    assert.equal(readImageHeader(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), undefined);
    assert.equal(readImageHeader(new Uint8Array(0)), undefined);
  });
});

describe('image input checks', () => {
  const png = () => solidImage('png', 4, 3);

  it('accepts raw base64, data URLs (also line-wrapped) and gRPC bytes, and keeps the bytes', async () => {
    const bytes = await png();
    const wrapped = bytes.toString('base64').replace(/(.{20})/g, '$1\n');
    for (const image of [bytes.toString('base64'), dataUrl(bytes), dataUrl(bytes, 'image/jpeg'), wrapped, new Uint8Array(bytes)]) {
      const request = await readInferenceRequest('org/m', { input_data: { image } }, limits, { taskType: 'img2embed' });
      assert.deepEqual(request.items, [{ kind: 'image', image: new Uint8Array(bytes) }]);
    }
  });

  it('refuses each bad image with INVALID_INPUT (400) naming the field', async () => {
    const good = await png();
    const jpeg = await renderScene('circles', { format: 'jpeg', size: 128 });
    const table: [string, unknown, RegExp][] = [
      ['bad base64', 'not base64!', /must be base64/],
      ['base64 of wrong length', 'AAAAA', /must be base64/],
      ['empty bytes (gRPC)', new Uint8Array(0), /is empty/],
      ['text/plain data URL', dataUrl(good, 'text/plain'), /data URL type 'text\/plain' is not an image type/],
      ['application/pdf data URL', `data:application/pdf;base64,${good.toString('base64')}`, /not an image type/],
      ['data URL that is not base64', `data:image/png,${good.toString('hex')}`, /must be base64-encoded/],
      ['bytes that are no image', Buffer.from('just some text, not a picture').toString('base64'), /is not an image/],
      ['20000x20000 PNG header', pngDeclaring(20000, 20000).toString('base64'), /20000x20000 = 400000000 pixels; at most 178956970/],
      ['50000x40000 JPEG header', dataUrl(jpegDeclaring(40000, 50000), 'image/jpeg'), /at most 178956970/],
      ['huge WebP canvas', webpDeclaring(16384 * 64, 16384).toString('base64'), /pixels; at most/],
      ['zero-size GIF', gifDeclaring(0, 10).toString('base64'), /of 0x10 pixels/],
      ['BMP', bmpDeclaring(8, 8).toString('base64'), /BMP images are not supported/],
      ['PNG without a size', pngDeclaring(5, 5).subarray(0, 18).toString('base64'), /no readable size/],
      ['PNG header over garbage', Buffer.concat([good.subarray(0, 33), Buffer.alloc(40, 7)]).toString('base64'), /does not decode/],
      ['truncated JPEG', jpeg.subarray(0, Math.floor(jpeg.length * 0.7)).toString('base64'), /does not decode/],
    ];
    for (const [name, image, message] of table) {
      const r = await refusal({ input_data: { image } });
      assert.equal(r.code, 'INVALID_INPUT', name);
      assert.equal(r.status, 400, name);
      assert.equal(r.fields.length, 1, name);
      assert.equal(r.fields[0]!.field, 'input_data.image', name);
      assert.match(r.fields[0]!.message, message, name);
    }
  });

  it('names every bad item of a list, and lists over max_inputs are BATCH_SIZE_EXCEEDED (413)', async () => {
    const good = (await png()).toString('base64');
    const r = await refusal({ input_data: { image: [good, 'AAAA', pngDeclaring(30000, 30000).toString('base64')] } });
    assert.equal(r.code, 'INVALID_INPUT');
    assert.deepEqual(r.fields.map((f) => f.field), ['input_data.image[1]', 'input_data.image[2]']);
    assert.match(r.message, /input_data\.image\[1\] is not an image .*\(and 1 more\)/);
    const truncated = (await solidImage('png', 32, 32)).subarray(0, 40).toString('base64');
    const late = await refusal({ input_data: { image: [good, truncated] } });
    assert.deepEqual(late.fields, [{ field: 'input_data.image[1]', message: 'does not decode as an image (corrupt or truncated data)' }]);
    const big = await refusal({ input_data: { image: [good, good, good, good] } });
    assert.deepEqual([big.code, big.status], ['BATCH_SIZE_EXCEEDED', 413]);
  });

  it('a smaller max_image_pixels refuses what the default accepts, from the header alone', async () => {
    const bytes = await solidImage('png', 100, 100);
    assert.doesNotThrow(() => checkImageBytes(bytes, { max_image_pixels: 10_000 }));
    assert.throws(() => checkImageBytes(bytes, { max_image_pixels: 9_999 }), (err: unknown) =>
      err instanceof ModelMoraError && err.code === 'INVALID_INPUT' && /100x100 = 10000 pixels; at most 9999/.test(err.message));
    assert.deepEqual(checkImageBytes(bytes, limits), { format: 'png', width: 100, height: 100 });
  });

  it('parses strings without touching the header, and the decode check skips text items', async () => {
    assert.deepEqual(parseImageString('data:image/png;charset=x;base64,AAEC'), { bytes: new Uint8Array([0, 1, 2]) });
    assert.deepEqual(parseImageString('data:;base64,AAEC'), { problem: "data URL type 'none' is not an image type" });
    await checkImagesDecode([{ kind: 'text', text: 'hello' }], limits);
    const request = toInferenceRequest('org/m', { input_data: { text: 'hi' } }, limits);
    assert.equal(request.items[0]!.kind, 'text');
  });
});
