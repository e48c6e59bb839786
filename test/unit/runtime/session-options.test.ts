import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sessionOptions } from '../../../src/runtime/session-options.js';

test('runner sessions do not spin unless asked, and take the configured thread count', () => {
  assert.deepEqual(sessionOptions({}), { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } });
  assert.deepEqual(sessionOptions({ threads: 2, spin: true }), { intraOpNumThreads: 2 });
  assert.equal(sessionOptions({ threads: 0 }).intraOpNumThreads, undefined);
});
