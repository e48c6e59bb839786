import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { parseManifest, parseManifestDocument } from '../../../src/project/manifest.js';
import { MANIFEST_TEMPLATE, addModel, removeModel } from '../../../src/project/manifest-document.js';

const rejects = (text: string, code: string, pattern: RegExp) =>
  assert.throws(
    () => parseManifest(text),
    (err: unknown) => err instanceof ModelMoraError && err.code === code && pattern.test(err.message) && !err.message.includes('\n'),
  );

test('a full entry parses with defaults filled in', () => {
  const manifest = parseManifest(`
models:
  - id: org/x
    task: txt2embed
  - id: modelmora/glove-demo
    task: txt2embed
    revision: v1
    source: ./models/glove-demo
    files: ["*.json", "onnx/model.onnx"]
    display_name: GloVe demo
    config: {pooling: mean, normalize: true}
    resources: {memory_mb: 64, cpu_threads: 1}
    keep_alive: 5m
    preload: true
  - id: solo
    task: txt2txt
    source: https://example.com/model.onnx
    keep_alive: -1
server:
  port: 8001
`);
  const [a, b, c] = manifest.models;
  assert.equal(a?.revision, 'main');
  assert.deepEqual(a?.source, { kind: 'huggingface' });
  assert.equal(a?.keepAliveMs, undefined);
  assert.equal(a?.preload, false);
  assert.deepEqual(b?.source, { kind: 'local', path: './models/glove-demo' });
  assert.deepEqual(b?.files, ['*.json', 'onnx/model.onnx']);
  assert.equal(b?.keepAliveMs, 300_000);
  assert.deepEqual(b?.config, { pooling: 'mean', normalize: true });
  assert.deepEqual(b?.resources, { memory_mb: 64, cpu_threads: 1 });
  assert.equal(b?.preload, true);
  assert.deepEqual(c?.source, { kind: 'url', url: 'https://example.com/model.onnx' });
  assert.equal(c?.keepAliveMs, -1);
  assert.deepEqual(manifest.server, { port: 8001 });
});

test('errors name the field and the model', () => {
  rejects('models:\n  - id: org/a\n    task: txt2embed\n  - id: org/x\n    task: embed\n', 'INVALID_TASK_TYPE',
    /^modelmora\.yaml: models\[1\] \(org\/x\): task must be one of txt2embed, img2embed, txt2img, img2txt, txt2txt$/);
  rejects('models:\n  - id: ../../etc/passwd\n    task: txt2embed\n', 'INVALID_MODEL_ID', /models\[0\]: Invalid model id/);
  rejects('models:\n  - id: org/x\n    task: txt2embed\n    keep_alive: forever\n', 'VALIDATION_ERROR', /models\[0\] \(org\/x\): keep_alive: 'forever' is not a duration/);
  rejects('models:\n  - id: org/x\n    task: txt2embed\n    revison: v2\n', 'VALIDATION_ERROR', /\(org\/x\): revison is not a known field/);
  rejects('models:\n  - id: org/x\n    task: txt2embed\n    source: http://plain.example/x\n', 'URL_NOT_ALLOWED', /\(org\/x\): source URL must use https/);
  rejects('models:\n  - id: org/x\n    task: txt2embed\n    source: models/x\n', 'VALIDATION_ERROR', /\(org\/x\): source must be a folder path starting with \. or \//);
  rejects('models:\n  - id: org/x\n    task: txt2embed\n    files: ["../secret"]\n', 'VALIDATION_ERROR', /\(org\/x\): files pattern/);
  rejects('models:\n  - id: org/x\n    task: txt2embed\n    resources: {memory_mb: -5}\n', 'VALIDATION_ERROR', /resources\.memory_mb must be a whole number/);
  rejects('models:\n  - id: org/x\n    task: txt2embed\n  - id: org/x\n    task: txt2txt\n', 'MODEL_ALREADY_EXISTS', /models\[1\] \(org\/x\): id is already declared at models\[0\]/);
  rejects('models:\n  - id: org/x\n    task: txt2embed\n    preload: yes please\n', 'VALIDATION_ERROR', /preload must be true or false/);
  rejects('modles: []\n', 'VALIDATION_ERROR', /modles is not a known section/);
});

test('server: is checked by the settings table', () => {
  rejects('server:\n  prot: 1\n', 'VALIDATION_ERROR', /server\.prot is not a known setting/);
  rejects('server:\n  port: eighty\n', 'VALIDATION_ERROR', /server.*port/);
});

test('yaml syntax errors give a line number on one line', () => {
  assert.throws(() => parseManifest('models:\n  - id: a\n   task: [\n'), (err: unknown) =>
    err instanceof ModelMoraError && /^modelmora\.yaml: line \d+, column \d+:/.test(err.message) && !err.message.includes('\n'));
});

test('init template is valid and add/rm keep comments and order', () => {
  assert.deepEqual(parseManifest(MANIFEST_TEMPLATE).models, []);
  const doc = parseManifestDocument(MANIFEST_TEMPLATE);
  const { outcome, manifest } = addModel(doc, { id: 'org/x', task: 'txt2embed', files: ['*.json'] });
  assert.equal(outcome, 'added');
  assert.equal(manifest.models[0]?.id, 'org/x');
  addModel(doc, { id: 'org/y', task: 'txt2txt' });
  const text = doc.toString();
  assert.ok(text.startsWith('# modelmora.yaml: the models this project serves.'));
  assert.match(text, /# Settings of `modelmora serve`/);
  assert.match(text, /models:\n  - id: org\/x\n    task: txt2embed\n    files:\n      - "\*\.json"\n  - id: org\/y\n/);
  assert.ok(text.indexOf('models:') < text.indexOf('server:'));

  assert.throws(() => addModel(doc, { id: 'org/x', task: 'txt2embed' }), (e: unknown) => e instanceof ModelMoraError && e.code === 'MODEL_ALREADY_EXISTS');
  assert.equal(addModel(doc, { id: 'org/x', revision: 'v2' }).outcome, 'updated');
  assert.equal(parseManifest(doc.toString()).models[0]?.revision, 'v2');

  const after = removeModel(doc, 'org/x');
  assert.deepEqual(after.models.map((m) => m.id), ['org/y']);
  assert.throws(() => removeModel(doc, 'org/x'), (e: unknown) => e instanceof ModelMoraError && e.code === 'MODEL_NOT_FOUND');
  assert.throws(() => addModel(doc, { id: 'x--y', task: 'txt2embed' }), (e: unknown) => e instanceof ModelMoraError && e.code === 'INVALID_MODEL_ID');
  assert.throws(() => addModel(doc, { id: 'org/z', task: 'nope' }), (e: unknown) => e instanceof ModelMoraError && e.code === 'INVALID_TASK_TYPE');
});

test('editing keeps a comment on an existing entry', () => {
  const doc = parseManifestDocument('models:\n  # the small one\n  - id: org/a # pinned below\n    task: txt2embed\n');
  addModel(doc, { id: 'org/b', task: 'txt2embed' });
  assert.equal(doc.toString(), 'models:\n  # the small one\n  - id: org/a # pinned below\n    task: txt2embed\n  - id: org/b\n    task: txt2embed\n');
});
