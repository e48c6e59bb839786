import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { readTxt2ImgParameters } from '../../../src/domain/txt2img-parameters.js';
import { clipInputIds, clipTokenizerJson, loadClipTokenizer, parseMerges } from '../../../src/runtime/diffusion/clip-tokenizer.js';
import { gaussian } from '../../../src/runtime/diffusion/gaussian.js';
import { fromHalf, toHalf } from '../../../src/runtime/diffusion/tensors.js';
import { parseTxt2ImgConfig } from '../../../src/runtime/tasks/txt2img.js';
import { removeDir, tempDir } from '../../support/fixtures.js';

const TOKENIZER = fileURLToPath(new URL('../../../../test/fixtures/models/plumbing-sd-tiny/tokenizer', import.meta.url));

describe('seeded Gaussian noise', () => {
  test('same seed, same values; another seed, other values; standard normal statistics', () => {
    const a = gaussian(42, 100_001);
    assert.deepEqual(gaussian(42, 100_001), a);
    assert.notDeepEqual(gaussian(43, 16), a.subarray(0, 16));
    let sum = 0;
    let squares = 0;
    for (const x of a) {
      sum += x;
      squares += x * x;
    }
    const mean = sum / a.length;
    const variance = squares / a.length - mean * mean;
    assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
    assert.ok(a.every(Number.isFinite));
  });

  test('a prefix does not depend on the length asked (latents of one image do not depend on the batch)', () => {
    assert.deepEqual(gaussian(7, 10), gaussian(7, 11).subarray(0, 10));
  });
});

describe('CLIP tokenizer from vocab.json + merges.txt', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await removeDir(dir);
  });
  const vocab = JSON.parse(readFileSync(path.join(TOKENIZER, 'vocab.json'), 'utf8')) as Record<string, number>;
  const ids = async (dir: string, text: string) => {
    return clipInputIds(await loadClipTokenizer(dir), [text]);
  };

  test('lowercases, adds </w> at word ends, wraps in <|startoftext|> <|endoftext|>, pads with <|endoftext|> to 77', async () => {
    const got = await ids(TOKENIZER, 'A  photo of a Cat!!');
    const words = ['a</w>', 'photo</w>', 'of</w>', 'a</w>', 'cat</w>', '!', '!</w>'].map((t) => vocab[t]!);
    const expected = [vocab['<|startoftext|>']!, ...words, vocab['<|endoftext|>']!];
    assert.deepEqual(got.slice(0, expected.length), expected);
    assert.equal(got.length, 77);
    assert.ok(got.slice(expected.length).every((id) => id === vocab['<|endoftext|>']));
  });

  test('truncates to 77 keeping the end token; a tokenizer.json written from the same files gives the same ids', async () => {
    const long = Array.from({ length: 100 }, () => 'cat').join(' ');
    const got = await ids(TOKENIZER, long);
    assert.equal(got.length, 77);
    // 75 words kept, then the end token, as Python's CLIPTokenizer truncates.
    assert.deepEqual(got.slice(74, 77), [vocab['cat</w>'], vocab['cat</w>'], vocab['<|endoftext|>']]);
    const dir = await tempDir();
    dirs.push(dir);
    const merges = parseMerges(readFileSync(path.join(TOKENIZER, 'merges.txt'), 'utf8'));
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(clipTokenizerJson(vocab, merges)));
    writeFileSync(path.join(dir, 'tokenizer_config.json'), readFileSync(path.join(TOKENIZER, 'tokenizer_config.json')));
    for (const text of ['a red dog over the mountains', 'painting, sunset; xyz 42', long]) {
      assert.deepEqual(await ids(dir, text), await ids(TOKENIZER, text));
    }
  });

  test('merges.txt: the #version header and blank lines are skipped', () => {
    assert.deepEqual(parseMerges('#version: 0.2\na b\r\nab c</w>\n\n'), ['a b', 'ab c</w>']);
  });
});

describe('float16 conversion', () => {
  test('round trips exactly representable values and rounds others to nearest', () => {
    const values = Float32Array.from([0, 1, -2.5, 65504, 2 ** -24, -(2 ** -14), 0.5]);
    assert.deepEqual(Array.from(fromHalf(toHalf(values))), Array.from(values));
    assert.equal(fromHalf(toHalf(Float32Array.from([0.1])))[0], 0.0999755859375);
    assert.equal(fromHalf(toHalf(Float32Array.from([1e6])))[0], Infinity);
    assert.equal(toHalf(Float32Array.from([1]))[0], 0x3c00);
  });
});

describe('txt2img parameters', () => {
  const invalid = (parameters: Record<string, unknown>, field: string) =>
    assert.throws(
      () => readTxt2ImgParameters(parameters),
      (err) => err instanceof ModelMoraError && err.code === 'INVALID_INPUT' && err.fieldErrors?.some((e) => e.field === field) === true,
    );

  test('width and height: multiples of 8 from 8 to 2048', () => {
    assert.deepEqual(readTxt2ImgParameters({ width: 64, height: 48 }), { width: 64, height: 48 });
    invalid({ width: 63 }, 'parameters.width');
    invalid({ width: 0 }, 'parameters.width');
    invalid({ height: 2056 }, 'parameters.height');
    invalid({ height: '64' }, 'parameters.height');
  });

  test('steps, guidance_scale, seed, negative_prompt', () => {
    assert.deepEqual(readTxt2ImgParameters({ steps: 4, guidance_scale: 7.5, seed: 4294967295, negative_prompt: 'blurry', other: 1 }), {
      steps: 4,
      guidanceScale: 7.5,
      seed: 4294967295,
      negativePrompt: 'blurry',
    });
    invalid({ steps: 0 }, 'parameters.steps');
    invalid({ steps: 2.5 }, 'parameters.steps');
    invalid({ guidance_scale: -1 }, 'parameters.guidance_scale');
    invalid({ seed: -1 }, 'parameters.seed');
    invalid({ seed: 2 ** 32 }, 'parameters.seed');
    invalid({ negative_prompt: 3 }, 'parameters.negative_prompt');
  });

  test('model config: defaults 50 steps and 7.5, scheduler aliases, bad values fail the load', () => {
    assert.deepEqual(parseTxt2ImgConfig({}), { scheduler: undefined, steps: 50, guidanceScale: 7.5, vaeScalingFactor: undefined });
    assert.equal(parseTxt2ImgConfig({ scheduler: 'ddim' }).scheduler, 'DDIMScheduler');
    assert.equal(parseTxt2ImgConfig({ steps: 20 }).steps, 20);
    assert.throws(() => parseTxt2ImgConfig({ steps: 0 }), (err) => err instanceof ModelMoraError && err.code === 'MODEL_LOAD_FAILED');
    assert.throws(() => parseTxt2ImgConfig({ vae_scaling_factor: -1 }), (err) => err instanceof ModelMoraError && err.code === 'MODEL_LOAD_FAILED');
  });
});
