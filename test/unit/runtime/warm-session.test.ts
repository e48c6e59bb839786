import assert from 'node:assert/strict';
import { test } from 'node:test';
import { warmOnnxRuntime } from '../../../src/runtime/tasks/warm-session.js';

test('the warm-up model is a valid graph onnxruntime opens and releases', async () => {
  await warmOnnxRuntime();
  // Twice: releasing leaves onnxruntime able to open sessions again.
  await assert.doesNotReject(warmOnnxRuntime());
});
