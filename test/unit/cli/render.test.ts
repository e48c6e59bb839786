import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { formatBytes, formatTable } from '../../../src/cli/render/format.js';
import { Output } from '../../../src/cli/render/output.js';
import { createPullProgress } from '../../../src/cli/render/progress.js';
import type { PullEvent } from '../../../src/store/model-store.js';
import { describeError } from '../../../src/cli/render/error.js';
import { ModelMoraError } from '../../../src/domain/errors.js';

class Capture extends Writable {
  text = '';
  isTTY: boolean;
  columns = 120;
  rows = 40;
  constructor(tty: boolean) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
  // The few terminal calls cli-progress makes on a TTY stream.
  cursorTo(): boolean {
    return true;
  }
  moveCursor(): boolean {
    return true;
  }
  clearLine(): boolean {
    return true;
  }
  clearScreenDown(): boolean {
    return true;
  }
}

const EVENTS: PullEvent[] = [
  { type: 'start', modelId: 'org/x', commit: 'a'.repeat(40), files: [{ path: 'config.json', size: 1200, cached: true }, { path: 'model.onnx', size: 2_000_000, cached: false }], totalBytes: 2_001_200 },
  { type: 'progress', path: 'model.onnx', fileBytes: 1_000_000, fileSize: 2_000_000, doneBytes: 1_001_200, totalBytes: 2_001_200 },
  { type: 'progress', path: 'model.onnx', fileBytes: 2_000_000, fileSize: 2_000_000, doneBytes: 2_001_200, totalBytes: 2_001_200 },
  { type: 'file', path: 'config.json', cached: true },
  { type: 'file', path: 'model.onnx', cached: false },
  { type: 'done', folder: 'x' },
];

test('piped output: one line per fetched file, nothing for cached ones', () => {
  const out = new Capture(false);
  const progress = createPullProgress(new Output({ quiet: false, json: false }, out));
  for (const e of EVENTS) progress.event('org/x', e);
  progress.stop();
  assert.equal(out.text, 'pulled org/x model.onnx 2.0 MB\n');
});

test('a terminal gets bars with sizes; --quiet and --json get nothing', () => {
  const tty = new Capture(true);
  const progress = createPullProgress(new Output({ quiet: false, json: false }, tty));
  for (const e of EVENTS) progress.event('org/x', e);
  progress.stop();
  assert.match(tty.text, /100% \| org\/x\s*\| 2\.0 MB\/2\.0 MB \|/);
  assert.match(tty.text, /pulled org\/x model\.onnx 2\.0 MB\n/);
  for (const options of [{ quiet: true, json: false }, { quiet: false, json: true }]) {
    const quiet = new Capture(true);
    const p = createPullProgress(new Output(options, quiet));
    for (const e of EVENTS) p.event('org/x', e);
    p.stop();
    assert.equal(quiet.text, '');
  }
});

test('sizes and tables', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1234), '1.2 kB');
  assert.equal(formatBytes(5_201_684), '5.2 MB');
  assert.equal(formatBytes(150_000), '150 kB');
  assert.equal(formatTable(['A', 'BB'], [['xxx', 'y'], ['z', '']]), 'A    BB\nxxx  y\nz');
});

test('errors: domain messages carry their code; others never leak a path', () => {
  assert.equal(describeError(new ModelMoraError('MODEL_NOT_FOUND', 'org/x is not in modelmora.yaml')), 'org/x is not in modelmora.yaml (MODEL_NOT_FOUND)');
  assert.equal(describeError(new Error("ENOENT: no such file or directory, open '/home/me/.modelmora/x'")), 'internal error');
  assert.equal(describeError(new Error('EACCES: permission denied, mkdir C:\\Users\\me')), 'internal error');
  assert.equal(describeError(new TypeError('x is not a function')), 'internal error: x is not a function');
  assert.equal(describeError('a string'), 'internal error');
});
