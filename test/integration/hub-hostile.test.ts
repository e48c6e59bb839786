import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ModelMoraError } from '../../src/domain/errors.js';
import { ModelRef } from '../../src/domain/model-ref.js';
import { createSource } from '../../src/hub/source.js';
import { ModelStore } from '../../src/store/model-store.js';
import { listTree, removeDir, tempDir, writeModelFolder } from '../support/fixtures.js';
import { startTestHub, type TestHub, type TreeEntry } from '../support/test-hub.js';

/** A hub that lies in its listing must not get a single byte onto the disk. */

let dir: string;
let folder: string;
let hub: TestHub;

before(async () => {
  dir = await tempDir();
  folder = path.join(dir, 'fixture');
  await writeModelFolder(folder, { 'config.json': '{"model_type":"bert"}', 'model.bin': 100_000 });
  hub = await startTestHub({ repos: {} });
});
after(async () => {
  await hub.close();
  await removeDir(dir);
});

const lfsFile = (entries: TreeEntry[]) => entries.find((e) => e.lfs)!;

const HOSTILE: [string, (entries: TreeEntry[]) => TreeEntry[]][] = [
  ['a sibling ../../x', (e) => [...e, { ...lfsFile(e), path: '../../x' }]],
  ['a nested climb a/../../x', (e) => [...e, { ...lfsFile(e), path: 'a/../../x' }]],
  ['an absolute path', (e) => [...e, { ...lfsFile(e), path: '/etc/x' }]],
  ['a backslash path', (e) => [...e, { ...lfsFile(e), path: '..\\..\\x' }]],
  ['a NUL in a path', (e) => [...e, { ...lfsFile(e), path: 'x\u0000.bin' }]],
  ['an LFS oid that is not 64 hex', (e) => e.map((x) => (x.lfs ? { ...x, lfs: { ...x.lfs, oid: '../../../x' } } : x))],
  ['an uppercase LFS oid', (e) => e.map((x) => (x.lfs ? { ...x, lfs: { ...x.lfs, oid: x.lfs.oid.toUpperCase() } } : x))],
  ['a git oid that is not 40 hex', (e) => e.map((x) => (!x.lfs && x.type === 'file' ? { ...x, oid: 'zz' } : x))],
  ['a negative size', (e) => e.map((x) => (x.lfs ? { ...x, size: -1 } : x))],
  ['one path twice', (e) => [...e, lfsFile(e)]],
];

for (const [name, listing] of HOSTILE) {
  test(`a hub listing ${name} is refused and nothing is written`, async () => {
    const id = `evil/m${HOSTILE.findIndex(([n]) => n === name)}`;
    await hub.setRepo(id, { folder, listing });
    const home = path.join(dir, `home-${id.replace('/', '-')}`);
    const store = new ModelStore(home);
    const ref = ModelRef.parse(id);
    const source = createSource(ref, { hubUrl: hub.url, baseDir: dir, spoolDir: path.join(dir, 'spool-elsewhere') });
    const err = await source.resolve('main').then(
      () => assert.fail('resolve accepted a hostile listing'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ModelMoraError);
    assert.equal(err.code, 'DOWNLOAD_FAILED', err.message);
    assert.ok(!err.message.includes(dir), 'no absolute path in the message');
    assert.deepEqual(await listTree(home), []);
    assert.deepEqual((await listTree(dir)).filter((p) => p === 'x' || p.endsWith('/x')), []);
  });
}

test('a snapshot from a tampered lock is refused by the store before anything is written', async () => {
  const home = path.join(dir, 'home-lock');
  const store = new ModelStore(home);
  const ref = ModelRef.parse('org/locked');
  const source = createSource(ref, { hubUrl: hub.url, baseDir: dir });
  const good = { path: 'model.bin', size: 1, sha256: 'a'.repeat(64) };
  const cases = [
    { commit: 'c'.repeat(40), files: [{ ...good, path: '../../outside' }] },
    { commit: 'c'.repeat(40), files: [{ ...good, sha256: '../x' }] },
    { commit: '../../x', files: [good] },
  ];
  for (const snapshot of cases) {
    assert.throws(() => store.pull(ref, source, snapshot), (e: unknown) => e instanceof ModelMoraError && e.code === 'DOWNLOAD_FAILED');
    await assert.rejects(store.verify(ref, snapshot), (e: unknown) => e instanceof ModelMoraError);
  }
  assert.deepEqual(await listTree(home), []);
});

test('a listed size that disagrees with the bytes served is CHECKSUM_MISMATCH', async () => {
  await hub.setRepo('evil/size', { folder, listing: (e) => e.map((x) => (x.path === 'config.json' ? { ...x, size: x.size + 5 } : x)) });
  const ref = ModelRef.parse('evil/size');
  const source = createSource(ref, { hubUrl: hub.url, baseDir: dir });
  await assert.rejects(source.resolve('main'), (e: unknown) => e instanceof ModelMoraError && e.code === 'CHECKSUM_MISMATCH');
});
