import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { checkModelFiles, externalDataLocations } from '../../../src/runtime/model-files.js';
import { BAD_MODEL_KINDS, externalDataOnnx, GLOVE_2K, writeBadModel } from '../../support/bad-models.js';
import { removeDir, tempDir } from '../../support/fixtures.js';

let dir: string;
before(async () => {
  dir = await tempDir('modelmora-model-files-');
});
after(() => removeDir(dir));

const REASONS: Record<string, RegExp> = {
  'random-bytes': /'onnx\/model\.onnx' is not a valid ONNX file/,
  truncated: /'onnx\/model\.onnx' is not a valid ONNX file/,
  directory: /'onnx\/model\.onnx' is a folder/,
  fifo: /'onnx\/model\.onnx' is not a regular file \(a FIFO\)/,
  'external-data-outside': /external data at '\.\.\/\.\.\/etc\/passwd', outside the model folder/,
  'external-data-absolute': /external data at '\/etc\/passwd', which is not a path inside the model folder/,
};

describe('checkModelFiles', () => {
  test('the committed fixtures pass', () => {
    checkModelFiles(GLOVE_2K);
  });

  for (const kind of BAD_MODEL_KINDS) {
    test(`${kind}: MODEL_LOAD_FAILED naming the file relative to the model, never an absolute path`, async () => {
      const folder = await writeBadModel(path.join(dir, kind), kind);
      assert.throws(
        () => checkModelFiles(folder),
        (err: unknown) => {
          assert.ok(err instanceof ModelMoraError);
          assert.equal(err.code, 'MODEL_LOAD_FAILED');
          assert.match(err.message, REASONS[kind]!);
          assert.ok(!err.message.includes(dir), err.message);
          return true;
        },
      );
    });
  }

  test('external data inside the model folder is accepted; missing external data is refused', async () => {
    const folder = path.join(dir, 'inside');
    await fs.mkdir(path.join(folder, 'onnx'), { recursive: true });
    await fs.writeFile(path.join(folder, 'onnx', 'model.onnx'), externalDataOnnx('model.onnx_data'));
    assert.deepEqual(externalDataLocations(path.join(folder, 'onnx', 'model.onnx'), 'onnx/model.onnx'), ['model.onnx_data']);
    assert.throws(() => checkModelFiles(folder), /external data 'model\.onnx_data', which is missing/);
    await fs.writeFile(path.join(folder, 'onnx', 'model.onnx_data'), Buffer.alloc(16));
    checkModelFiles(folder);
  });
});
