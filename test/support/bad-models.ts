import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeOnnxModel, float32Bytes, OnnxType } from '../../scripts/onnx/onnx-model.js';

/**
 * Model folders that are not valid models, for the fault tests: each is a copy of glove-2k
 * (tokenizer, config) whose onnx/model.onnx is replaced by something hostile or broken.
 */

export const GLOVE_2K = fileURLToPath(new URL('../../../test/fixtures/models/glove-2k/', import.meta.url));

export type BadModelKind = 'random-bytes' | 'truncated' | 'directory' | 'fifo' | 'external-data-outside' | 'external-data-absolute';

export const BAD_MODEL_KINDS: readonly BadModelKind[] = ['random-bytes', 'truncated', 'directory', 'fifo', 'external-data-outside', 'external-data-absolute'];

/** An ONNX model with one initializer stored as external data at `location`. */
export function externalDataOnnx(location: string): Uint8Array {
  return encodeOnnxModel({
    irVersion: 8,
    opsetVersion: 17,
    producerName: 'modelmora-test',
    producerVersion: '1',
    graph: {
      name: 'external',
      nodes: [{ opType: 'Add', name: 'add', inputs: ['x', 'w'], outputs: ['y'] }],
      initializers: [{ name: 'w', dataType: OnnxType.FLOAT, dims: [4], raw: float32Bytes([0, 0, 0, 0]), external: { location, offset: 0, length: 16 } }],
      inputs: [{ name: 'x', elemType: OnnxType.FLOAT, shape: [4] }],
      outputs: [{ name: 'y', elemType: OnnxType.FLOAT, shape: [4] }],
    },
  });
}

/** Copies glove-2k to `dir` and breaks its onnx/model.onnx the named way; returns `dir`. */
export async function writeBadModel(dir: string, kind: BadModelKind): Promise<string> {
  await fs.cp(GLOVE_2K, dir, { recursive: true });
  const onnx = path.join(dir, 'onnx', 'model.onnx');
  const good = await fs.readFile(onnx);
  await fs.rm(onnx);
  switch (kind) {
    case 'random-bytes':
      await fs.writeFile(onnx, randomBytes(4));
      break;
    case 'truncated':
      await fs.writeFile(onnx, good.subarray(0, Math.floor(good.length / 2)));
      break;
    case 'directory':
      await fs.mkdir(onnx);
      await fs.writeFile(path.join(onnx, 'weights.bin'), randomBytes(16));
      break;
    case 'fifo': {
      const made = spawnSync('mkfifo', [onnx]);
      if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
      break;
    }
    case 'external-data-outside':
      await fs.writeFile(onnx, externalDataOnnx('../../etc/passwd'));
      break;
    case 'external-data-absolute':
      await fs.writeFile(onnx, externalDataOnnx('/etc/passwd'));
      break;
  }
  return dir;
}
