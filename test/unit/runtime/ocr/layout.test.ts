import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ModelMoraError } from '../../../../src/domain/errors.js';
import type { LoadSpec } from '../../../../src/domain/runner.js';
import { isOcrModel, readOcrSettings } from '../../../../src/runtime/ocr/layout.js';
import { loadTaskHandler } from '../../../../src/runtime/tasks/index.js';

let folder: string;
let plain: string;
before(() => {
  folder = mkdtempSync(path.join(os.tmpdir(), 'mm-ocr-layout-'));
  for (const name of ['det.onnx', 'rec.onnx', 'cls.onnx', 'keys.txt']) writeFileSync(path.join(folder, name), 'x');
  writeFileSync(path.join(folder, 'config.json'), JSON.stringify({ model_type: 'paddleocr', dictionary: 'keys.txt', det_db_thresh: 0.25 }));
  plain = mkdtempSync(path.join(os.tmpdir(), 'mm-ocr-plain-'));
  writeFileSync(path.join(plain, 'config.json'), JSON.stringify({ model_type: 'vision-encoder-decoder' }));
});
after(() => {
  rmSync(folder, { recursive: true, force: true });
  rmSync(plain, { recursive: true, force: true });
});

const spec = (dir: string, config: Record<string, unknown> = {}): LoadSpec => ({ modelId: 'test/ocr', taskType: 'img2txt', folder: dir, config });
const loadFailed = (err: unknown) => err instanceof ModelMoraError && err.code === 'MODEL_LOAD_FAILED';

test('an OCR folder is told by its config.json or by config.family: ocr', () => {
  assert.equal(isOcrModel(spec(folder)), true);
  assert.equal(isOcrModel(spec(plain)), false);
  assert.equal(isOcrModel(spec(plain, { family: 'ocr' })), true);
});

test('settings: PaddleOCR defaults, under config.json, under the manifest config', () => {
  const settings = readOcrSettings(spec(folder, { det_db_box_thresh: 0.5 }));
  assert.equal(settings.detection, path.join(folder, 'det.onnx'));
  assert.equal(settings.recognition, path.join(folder, 'rec.onnx'));
  assert.equal(settings.dictionary, path.join(folder, 'keys.txt'));
  assert.equal(settings.classification, undefined, 'config.json names no classifier');
  assert.equal(settings.detDbThresh, 0.25);
  assert.equal(settings.detDbBoxThresh, 0.5);
  assert.equal(settings.detDbUnclipRatio, 1.5);
  assert.equal(settings.detLimitSideLen, 960);
  assert.equal(settings.dropScore, 0.5);
  assert.equal(settings.useAngleCls, false);
  assert.equal(settings.spaceThreshold, 0.02);

  const withCls = readOcrSettings(spec(folder, { classification: 'cls.onnx', use_angle_cls: true }));
  assert.equal(withCls.classification, path.join(folder, 'cls.onnx'));
  assert.equal(withCls.useAngleCls, true);
});

test('bad settings or missing files fail the load, naming no absolute path', () => {
  const bad: Record<string, unknown>[] = [
    { use_angle_cls: true },
    { det_db_thresh: 2 },
    { det_limit_side_len: 100.5 },
    { rec_batch_num: 0 },
    { use_space_char: 'yes' },
    { recognition: 'missing.onnx' },
    { dictionary: '../keys.txt' },
    { detection: path.join(os.tmpdir(), 'det.onnx') },
  ];
  for (const config of bad) {
    assert.throws(
      () => readOcrSettings(spec(folder, config)),
      (err: unknown) => loadFailed(err) && !(err as Error).message.includes(folder),
      JSON.stringify(config),
    );
  }
});

test('img2txt on a folder that is not OCR goes to the captioning family (which finds no captioner here)', async () => {
  // The runner process turns any load error into MODEL_LOAD_FAILED; here the raw one shows
  // which family tried: captioning looks for the image processor's config.
  await assert.rejects(loadTaskHandler(spec(plain)), /preprocessor_config\.json/);
});
