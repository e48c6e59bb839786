import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isChildMessage, isParentMessage } from '../../../src/runtime/messages.js';
import { safeMessage } from '../../../src/runtime/safe-message.js';

test('safeMessage replaces the model folder and any other absolute path', () => {
  const folder = '/home/u/.modelmora/cache/models--a--b/snapshots/abc';
  const text = `file was not found locally at "${folder}/onnx/model.onnx"; see /usr/lib/x.so (C:\\Users\\u\\f.txt)`;
  assert.equal(safeMessage(text, folder), 'file was not found locally at "<model>/onnx/model.onnx"; see <path> (<path>)');
});

test('safeMessage keeps relative paths, model ids and fractions', () => {
  assert.equal(safeMessage('model org/name: onnx/model.onnx, ratio 1/2'), 'model org/name: onnx/model.onnx, ratio 1/2');
});

test('safeMessage collapses whitespace and bounds the length', () => {
  assert.equal(safeMessage('a\n\n  b'), 'a b');
  const long = safeMessage('x'.repeat(1000));
  assert.equal(long.length, 300);
  assert.ok(long.endsWith('...'));
});

test('message guards accept only their own direction', () => {
  assert.equal(isParentMessage({ type: 'run', id: 1, batch: { items: [], parameters: {} } }), true);
  assert.equal(isParentMessage({ type: 'result', id: 1 }), false);
  assert.equal(isChildMessage({ type: 'result', id: 1, outputs: [], inferenceMs: 1 }), true);
  assert.equal(isChildMessage({ type: 'load' }), false);
  assert.equal(isChildMessage(null), false);
  assert.equal(isChildMessage('loaded'), false);
  assert.equal(isChildMessage({ type: 'booted' }), true);
  assert.equal(isChildMessage({ type: 'ready', loadMs: 1 }), false, 'the old name of loaded');
});
