import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import type { ModelSource, Snapshot } from '../../../src/hub/source.js';
import type { PullEvent } from '../../../src/store/model-store.js';
import { withEntries } from '../../../src/project/lockfile.js';
import { parseManifest } from '../../../src/project/manifest.js';
import { assertLockMatches, assertSourceMatches, pullEntry, resolveEntry, type SyncDeps } from '../../../src/project/sync.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const COMMIT = 'c'.repeat(40);
const manifest = parseManifest('models:\n  - id: org/x\n    task: txt2embed\n');
const spec = manifest.models[0]!;

/** A source that counts its calls and serves a fixed snapshot. */
function fakeSource(snapshot: Snapshot) {
  const calls: string[] = [];
  const source: ModelSource = {
    kind: 'hub',
    location: 'http://127.0.0.1:1/org/x',
    async resolve(revision) {
      calls.push(`resolve ${revision}`);
      return snapshot;
    },
    async open() {
      calls.push('open');
      throw new Error('not used');
    },
  };
  return { source, calls };
}

function fakeStore(complete: boolean) {
  const pulled: Snapshot[] = [];
  const store: SyncDeps['store'] = {
    async isComplete() {
      return complete;
    },
    pull(_ref, _source, snapshot): AsyncIterable<PullEvent> {
      pulled.push(snapshot);
      return (async function* () {
        yield { type: 'start', modelId: 'org/x', commit: snapshot.commit, files: snapshot.files.map((f) => ({ ...f, cached: false })), totalBytes: 5 };
        for (const f of snapshot.files) yield { type: 'file', path: f.path, cached: false } as PullEvent;
        yield { type: 'done', folder: 'x' } as PullEvent;
      })();
    },
    async verify() {
      return { ok: [], bad: [] };
    },
  };
  return { store, pulled };
}

const files = [
  { path: 'a.json', size: 2, sha256: sha('{}') },
  { path: 'b.onnx', size: 3, sha256: sha('abc') },
];

test('a complete cache is accepted without building a source', async () => {
  const { source } = fakeSource({ commit: COMMIT, files });
  const entry = await resolveEntry(spec, { sourceFor: () => source });
  let built = 0;
  const { store, pulled } = fakeStore(true);
  const summary = await pullEntry(spec, entry, { store, sourceFor: () => (built++, source) }, { frozen: true });
  assert.equal(built, 0);
  assert.equal(pulled.length, 0);
  assert.deepEqual(summary, { model_id: 'org/x', commit: COMMIT, files: 2, bytes: 5, downloaded: 0, downloaded_bytes: 0 });
});

test('frozen pull resolves the locked commit, then fetches exactly the lock', async () => {
  const { source, calls } = fakeSource({ commit: COMMIT, files });
  const entry = await resolveEntry(spec, { sourceFor: () => source });
  const { store, pulled } = fakeStore(false);
  const summary = await pullEntry(spec, entry, { store, sourceFor: () => source }, { frozen: true });
  assert.deepEqual(calls, ['resolve main', `resolve ${COMMIT}`]);
  assert.deepEqual(pulled, [{ commit: COMMIT, files }]);
  assert.equal(summary.downloaded, 2);
  assert.equal(summary.downloaded_bytes, 5);
});

test('frozen check names every file that differs from the lock', async () => {
  const { source } = fakeSource({ commit: COMMIT, files });
  const entry = await resolveEntry(spec, { sourceFor: () => source });
  const changed = fakeSource({ commit: COMMIT, files: [{ ...files[0]!, sha256: sha('{ }') }, { path: 'c.txt', size: 1, sha256: sha('c') }] });
  await assert.rejects(assertSourceMatches(entry, changed.source), (err: unknown) => {
    assert.ok(err instanceof ModelMoraError);
    assert.equal(err.code, 'LOCK_MISMATCH');
    assert.match(err.message, /^org\/x: a\.json has sha256 [0-9a-f]{12}\.\.\. at the source but [0-9a-f]{12}\.\.\. in the lock; b\.onnx is in the lock but not at the source; c\.txt is at the source but not in the lock$/);
    return true;
  });
  const { store, pulled } = fakeStore(false);
  await assert.rejects(pullEntry(spec, entry, { store, sourceFor: () => changed.source }, { frozen: true }), /LOCK_MISMATCH|a\.json/);
  assert.equal(pulled.length, 0);
});

test('a yaml the lock does not match fails before any fetch', async () => {
  assert.throws(() => assertLockMatches(manifest, undefined), /modelmora\.lock is missing/);
  assert.throws(() => assertLockMatches(manifest, withEntries(undefined, [])), /org\/x: in modelmora\.yaml but not in modelmora\.lock; run modelmora lock/);
});
