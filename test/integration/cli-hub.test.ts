import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseLock } from '../../src/project/lockfile.js';
import { cliWorld, type CliWorld } from '../support/cli-run.js';
import { writeModelFolder } from '../support/fixtures.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';

/**
 * The CLI against the loopback test hub: what the lock records is what the hub served, the
 * lock is byte-stable, and `pull --frozen` fetches exactly the lock, makes no request when the
 * cache already holds it, and fails on any drift. The tests share one project and run in order.
 */

const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

let w: CliWorld;
let hub: TestHub;
let folder: string;
let hubFlag: string[];
const served: Record<string, Buffer> = {};

before(async () => {
  w = await cliWorld();
  folder = path.join(w.dir, '..', 'hub-repo');
  await writeModelFolder(folder, {
    'config.json': '{"model_type":"bert","hidden_size":8}\n',
    'tokenizer.json': '{"version":"1.0","model":{"type":"WordPiece"}}\n',
    'onnx/model.onnx': 150_000,
  });
  for (const rel of ['config.json', 'tokenizer.json', 'onnx/model.onnx']) served[rel] = await fs.readFile(path.join(folder, rel));
  hub = await startTestHub({ repos: { 'org/tiny': { folder } } });
  hubFlag = ['--hub-url', hub.url];
  assert.equal((await w.run(['init'])).code, 0);
});
after(async () => {
  await hub?.close();
  await w?.cleanup();
});

test('add resolves, locks and pulls exactly what the hub serves', async () => {
  const add = await w.run([...hubFlag, 'add', 'org/tiny', '--task', 'txt2embed']);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /^pulled org\/tiny onnx\/model\.onnx 150 kB$/m);

  const lock = parseLock(await w.read('modelmora.lock'));
  const entry = lock.models[0]!;
  assert.equal(entry.model_id, 'org/tiny');
  assert.equal(entry.commit, hub.commitOf('org/tiny'));
  assert.equal(entry.source_url, `${hub.url}/org/tiny`);
  assert.deepEqual(
    entry.files,
    Object.entries(served)
      .map(([p, bytes]) => ({ path: p, size: bytes.length, sha256: sha(bytes) }))
      .sort((a, b) => (a.path < b.path ? -1 : 1)),
  );
  const snapshot = path.join(w.home, 'cache', 'models--org--tiny', 'snapshots', entry.commit);
  for (const [rel, bytes] of Object.entries(served)) assert.equal(sha(await fs.readFile(path.join(snapshot, rel))), sha(bytes), rel);
  assert.equal(hub.fileRequests('onnx/model.onnx').length, 1, 'the weights were downloaded once');
});

test('a second lock (through HF_ENDPOINT) is byte-identical', async () => {
  const before = await w.read('modelmora.lock');
  const relock = await w.run(['lock'], { HF_ENDPOINT: hub.url });
  assert.equal(relock.code, 0, relock.stderr);
  assert.match(relock.stdout, /modelmora\.lock is up to date/);
  assert.equal(await w.read('modelmora.lock'), before);
});

test('pull --frozen with a complete cache makes no request at all', async () => {
  const seen = hub.requests.length;
  const res = await w.run([...hubFlag, 'pull', '--frozen']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /org\/tiny: up to date \(3 files, 150 kB\)/);
  assert.equal(hub.requests.length, seen);
});

test('pull --frozen into an empty cache fetches the lock and nothing else', async () => {
  const home = path.join(w.dir, '..', 'home-frozen');
  const res = await w.run([...hubFlag, 'pull', '--frozen', '--home', home]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /org\/tiny: pulled 3 of 3 files/);
  const blobs = (await fs.readdir(path.join(home, 'cache', 'models--org--tiny', 'blobs'))).sort();
  assert.deepEqual(blobs, Object.values(served).map((b) => sha(b)).sort());
  assert.equal(await w.exists('../home-frozen/cache/models--org--tiny/refs/main'), true);
});

test('pull --frozen fails when the yaml has a model the lock lacks', async () => {
  const yaml = await w.read('modelmora.yaml');
  await w.write('modelmora.yaml', yaml.replace('models:\n', 'models:\n  - id: org/extra\n    task: txt2txt\n'));
  const seen = hub.requests.length;
  const res = await w.run([...hubFlag, 'pull', '--frozen']);
  assert.equal(res.code, 1);
  assert.equal(res.stderr, 'error: modelmora.lock is out of date: org/extra: in modelmora.yaml but not in modelmora.lock; run modelmora lock (LOCK_MISMATCH)\n');
  assert.equal(hub.requests.length, seen);
  await w.write('modelmora.yaml', yaml);
});

test('pull --frozen fails when a hub file under the locked commit changed', async () => {
  const commit = hub.commitOf('org/tiny');
  const changed = path.join(w.dir, '..', 'hub-repo-changed');
  await fs.cp(folder, changed, { recursive: true });
  const weights = Buffer.from(served['onnx/model.onnx']!);
  weights[10] = weights[10]! ^ 0xff;
  await fs.writeFile(path.join(changed, 'onnx', 'model.onnx'), weights);
  // The same commit now lists other bytes: a tampered mirror.
  await hub.setRepo('org/tiny', { folder: changed, revisions: { main: commit } });

  const home = path.join(w.dir, '..', 'home-tampered');
  const res = await w.run([...hubFlag, 'pull', '--frozen', '--home', home]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /^error: org\/tiny: onnx\/model\.onnx has sha256 [0-9a-f]{12}\.\.\. at the source but [0-9a-f]{12}\.\.\. in the lock \(LOCK_MISMATCH\)\n$/);
  await assert.rejects(fs.stat(path.join(home, 'cache', 'models--org--tiny', 'blobs')), 'nothing was fetched');

  await hub.setRepo('org/tiny', { folder, revisions: { main: commit } });
  const ok = await w.run([...hubFlag, 'pull', '--frozen', '--home', home]);
  assert.equal(ok.code, 0, ok.stderr);
});

test('plain pull locks a model the lock lacks, then fetches it', async () => {
  const other = path.join(w.dir, '..', 'hub-other');
  await writeModelFolder(other, { 'config.json': '{"model_type":"gpt2"}\n', 'onnx/model.onnx': 70_000 });
  await hub.setRepo('org/other', { folder: other });
  const yaml = await w.read('modelmora.yaml');
  await w.write('modelmora.yaml', yaml.replace('models:\n', 'models:\n  - id: org/other\n    task: txt2txt\n    files: ["*.json"]\n'));
  const res = await w.run([...hubFlag, 'pull']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^locked org\/other main -> [0-9a-f]{7}$/m);
  const lock = parseLock(await w.read('modelmora.lock'));
  assert.deepEqual(lock.models.map((m) => m.model_id), ['org/other', 'org/tiny']);
  assert.deepEqual(lock.models[0]!.files.map((f) => f.path), ['config.json'], 'files: patterns select what is locked');
  assert.deepEqual(lock.models[0]!.patterns, ['*.json']);
  assert.equal(hub.fileRequests('onnx/model.onnx').filter((r) => r.url.includes('org/other')).length, 0);
  const frozen = await w.run([...hubFlag, 'pull', '--frozen']);
  assert.equal(frozen.code, 0, frozen.stderr);
});

test('a model the hub does not have leaves yaml and lock untouched', async () => {
  const yaml = await w.read('modelmora.yaml');
  const lock = await w.read('modelmora.lock');
  const res = await w.run([...hubFlag, 'add', 'org/missing', '--task', 'txt2embed']);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /^error: .*\((MODEL_NOT_FOUND|DOWNLOAD_FAILED)\)\n$/);
  assert.doesNotMatch(res.stderr, /\/tmp\//);
  assert.equal(await w.read('modelmora.yaml'), yaml);
  assert.equal(await w.read('modelmora.lock'), lock);
});
