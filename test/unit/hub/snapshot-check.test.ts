import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { fileFilter, patternToRegExp } from '../../../src/hub/file-patterns.js';
import { checkCommit, checkRepoPath, checkRevision, checkSha256, checkSnapshot, pathInside } from '../../../src/hub/snapshot-check.js';

const refused = (e: unknown) => e instanceof ModelMoraError;

test('repo paths: plain relative POSIX names only', () => {
  for (const ok of ['config.json', 'onnx/model.onnx', 'a/b/c.d', '1_Pooling/config.json', 'weird name (1).bin']) {
    assert.equal(checkRepoPath(ok), ok);
  }
  for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', 'a/./b', 'a//b', 'a/', '..', '.', 'C:/x', 'c:x', 'a\\b', 'a\u0000b', 'a\nb', 'x'.repeat(256), 42, null]) {
    assert.throws(() => checkRepoPath(bad), refused, JSON.stringify(bad));
  }
});

test('pathInside never leaves its root', () => {
  assert.equal(pathInside('/cache/snap', 'a/b.bin'), '/cache/snap/a/b.bin');
  assert.throws(() => pathInside('/cache/snap', '../other/x'), refused);
});

test('hashes and commits: exact lowercase hex', () => {
  assert.equal(checkSha256('a'.repeat(64)), 'a'.repeat(64));
  for (const bad of ['A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), 'g'.repeat(64), `${'a'.repeat(62)}/.`, 1]) assert.throws(() => checkSha256(bad), refused);
  assert.equal(checkCommit('0'.repeat(40)), '0'.repeat(40));
  for (const bad of ['0'.repeat(39), '../../etc/passwd/000000000000000000000000', 'F'.repeat(40)]) assert.throws(() => checkCommit(bad), refused);
  for (const ok of ['main', 'v1.0', 'refs/pr/1', 'a'.repeat(40)]) assert.equal(checkRevision(ok), ok);
  for (const bad of ['', '../main', 'a/../b', '-rf', 'a b', 'main/']) assert.throws(() => checkRevision(bad), refused, bad);
});

test('checkSnapshot sorts files and refuses duplicates and file/folder clashes', () => {
  const f = (path: string) => ({ path, size: 1, sha256: 'b'.repeat(64) });
  assert.deepEqual(checkSnapshot({ commit: 'c'.repeat(40), files: [f('z'), f('a/b')] }).files.map((x) => x.path), ['a/b', 'z']);
  assert.throws(() => checkSnapshot({ commit: 'c'.repeat(40), files: [f('a.bin'), f('A.bin')] }), refused);
  assert.throws(() => checkSnapshot({ commit: 'c'.repeat(40), files: [f('a'), f('a/b')] }), refused);
  assert.throws(() => checkSnapshot({ commit: 'c'.repeat(40), files: [{ ...f('a'), size: 1.5 }] }), refused);
});

test('file patterns follow allow_patterns (fnmatch) semantics', () => {
  const keep = fileFilter(['*.json', 'onnx/model_quantized.onnx', 'tokenizer?model', '1_Pooling/']);
  const paths = ['config.json', 'onnx/config.json', 'onnx/model.onnx', 'onnx/model_quantized.onnx', 'tokenizer.model', 'tokenizerXmodel', '1_Pooling/config.json', 'model.safetensors'];
  assert.deepEqual(paths.filter(keep), ['config.json', 'onnx/config.json', 'onnx/model_quantized.onnx', 'tokenizer.model', 'tokenizerXmodel', '1_Pooling/config.json']);
  assert.equal(fileFilter(undefined)('anything'), true);
  assert.equal(fileFilter([])('anything'), true);
  assert.equal(patternToRegExp('model[0-9].bin').test('model7.bin'), true);
  assert.equal(patternToRegExp('model[!0-9].bin').test('model7.bin'), false);
  assert.equal(patternToRegExp('a+b(c).json').test('a+b(c).json'), true);
});
