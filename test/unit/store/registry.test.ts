import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { Registry, toModelResponse } from '../../../src/store/registry.js';

const homes: string[] = [];
async function freshHome(): Promise<string> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'modelmora-registry-'));
  homes.push(home);
  return home;
}
after(async () => {
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

function code(expected: string) {
  return (err: unknown) => err instanceof ModelMoraError && err.code === expected;
}

/** A clock that moves one second per call, so created_at and updated_at differ visibly. */
function steppingClock(start = Date.parse('2025-01-01T00:00:00Z')) {
  let t = start;
  return () => new Date((t += 1000));
}

describe('Registry', () => {
  let home: string;
  let registry: Registry;
  beforeEach(async () => {
    home = await freshHome();
    registry = await Registry.open({ home, now: steppingClock() });
  });

  it('registers a model with the API defaults and reads it back', async () => {
    const record = await registry.register({ model_id: 'org/embed', task_type: 'txt2embed', display_name: 'Embed', config: { max_length: 128 } });
    assert.equal(record.status, 'registered');
    assert.equal(record.version, 'main');
    assert.equal(record.revision, 'main');
    assert.equal(record.source, 'huggingface');
    assert.equal(record.created_at, '2025-01-01T00:00:01.000Z');
    assert.deepEqual(await registry.get('org/embed'), record);
    assert.deepEqual(toModelResponse(record), {
      model_id: 'org/embed',
      version: 'main',
      task_type: 'txt2embed',
      display_name: 'Embed',
      status: 'registered',
      resource_requirements: {},
      config: { max_length: 128 },
      created_at: '2025-01-01T00:00:01.000Z',
      updated_at: '2025-01-01T00:00:01.000Z',
    });
  });

  it('refuses a duplicate with MODEL_ALREADY_EXISTS, an unknown id with MODEL_NOT_FOUND and a bad id with INVALID_MODEL_ID', async () => {
    await registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    await assert.rejects(registry.register({ model_id: 'org/embed', task_type: 'txt2txt' }), code('MODEL_ALREADY_EXISTS'));
    await assert.rejects(registry.get('org/other'), code('MODEL_NOT_FOUND'));
    await assert.rejects(registry.update('org/other', { description: 'x' }), code('MODEL_NOT_FOUND'));
    await assert.rejects(registry.remove('org/other'), code('MODEL_NOT_FOUND'));
    await assert.rejects(registry.register({ model_id: '../etc/passwd', task_type: 'txt2embed' }), code('INVALID_MODEL_ID'));
  });

  it('treats object-prototype names as ordinary ids', async () => {
    await assert.rejects(registry.get('constructor'), code('MODEL_NOT_FOUND'));
    await registry.register({ model_id: 'constructor', task_type: 'txt2txt' });
    assert.equal((await registry.get('constructor')).task_type, 'txt2txt');
  });

  it('lists with filters and stable pages', async () => {
    for (const [id, task] of [['b/two', 'txt2embed'], ['a/one', 'txt2embed'], ['c/three', 'img2txt'], ['d/four', 'txt2embed'], ['e/five', 'txt2embed']] as const) {
      await registry.register({ model_id: id, task_type: task });
    }
    await registry.setStatus('d/four', 'downloading');

    const page1 = await registry.list({ task_type: 'txt2embed', page: 1, page_size: 3 });
    assert.deepEqual(page1.data.map((m) => m.model_id), ['a/one', 'b/two', 'd/four']);
    assert.deepEqual(page1.meta, { total: 4, page: 1, page_size: 3, total_pages: 2 });
    const page2 = await registry.list({ task_type: 'txt2embed', page: 2, page_size: 3 });
    assert.deepEqual(page2.data.map((m) => m.model_id), ['e/five']);
    assert.deepEqual((await registry.list({ status: 'downloading' })).data.map((m) => m.model_id), ['d/four']);
    assert.deepEqual((await registry.list({ page: 9 })).data, []);
    assert.deepEqual((await registry.list()).meta, { total: 5, page: 1, page_size: 20, total_pages: 1 });
  });

  it('updates only the editable fields and bumps updated_at', async () => {
    await registry.register({ model_id: 'org/embed', task_type: 'txt2embed', description: 'old', config: { a: 1 } });
    const updated = await registry.update('org/embed', { description: 'new', resource_requirements: { memory_mb: 512 } });
    assert.equal(updated.description, 'new');
    assert.deepEqual(updated.config, { a: 1 });
    assert.deepEqual(updated.resource_requirements, { memory_mb: 512 });
    assert.equal(updated.created_at, '2025-01-01T00:00:01.000Z');
    assert.equal(updated.updated_at, '2025-01-01T00:00:02.000Z');
  });

  it('enforces registered -> downloading -> ready | failed, and retry from failed or ready', async () => {
    await registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    await assert.rejects(registry.setStatus('org/embed', 'ready'), code('INTERNAL_ERROR'));
    await registry.setStatus('org/embed', 'downloading');
    const failed = await registry.setStatus('org/embed', 'failed', 'Hub answered 500');
    assert.equal(failed.error, 'Hub answered 500');
    assert.equal(toModelResponse(failed).error, 'Hub answered 500');
    await assert.rejects(registry.setStatus('org/embed', 'ready'), code('INTERNAL_ERROR'));
    await registry.setStatus('org/embed', 'downloading');
    const ready = await registry.setStatus('org/embed', 'ready');
    assert.equal(ready.status, 'ready');
    assert.equal(ready.error, undefined);
    await assert.rejects(registry.setStatus('org/embed', 'registered'), code('INTERNAL_ERROR'));
    assert.equal((await registry.setStatus('org/embed', 'downloading')).status, 'downloading');
  });

  it('startDownload claims a model once until it finishes', async () => {
    await registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    const [first, second] = await Promise.all([registry.startDownload('org/embed'), registry.startDownload('org/embed')]);
    assert.deepEqual([first.started, second.started], [true, false]);
    await registry.setStatus('org/embed', 'ready');
    assert.equal((await registry.startDownload('org/embed')).started, true);
  });

  it('persists every one of many concurrent writes', async () => {
    await Promise.all(Array.from({ length: 25 }, (_, i) => registry.register({ model_id: `org/m${i}`, task_type: 'txt2embed' })));
    const reopened = await Registry.open({ home });
    assert.equal((await reopened.list({ page_size: 100 })).meta.total, 25);
    assert.deepEqual(reopened.warnings, []);
    const files = await readdir(home);
    assert.deepEqual(files.sort(), ['registry.json', 'registry.json.bak']);
    assert.equal(await readFile(path.join(home, 'registry.json'), 'utf8'), await readFile(path.join(home, 'registry.json.bak'), 'utf8'));
  });

  it('keeps memory equal to disk when a write fails', async () => {
    await registry.register({ model_id: 'org/kept', task_type: 'txt2embed' });
    // A folder where the temp file should go makes the next write fail.
    await mkdir(path.join(home, 'registry.json.tmp'));
    await assert.rejects(registry.register({ model_id: 'org/lost', task_type: 'txt2embed' }));
    await assert.rejects(registry.get('org/lost'), code('MODEL_NOT_FOUND'));
    await rm(path.join(home, 'registry.json.tmp'), { recursive: true });
    // Later writes still work: the queue was not poisoned by the failure.
    await registry.register({ model_id: 'org/after', task_type: 'txt2embed' });
    const reopened = await Registry.open({ home });
    assert.deepEqual((await reopened.list()).data.map((m) => m.model_id), ['org/after', 'org/kept']);
  });

  it('recovers from a corrupt registry.json with the .bak and reports it', async () => {
    await registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    await writeFile(path.join(home, 'registry.json'), '{"version":1,"models":{"org/embed":{"model_id"', 'utf8');
    const reopened = await Registry.open({ home });
    assert.equal((await reopened.get('org/embed')).task_type, 'txt2embed');
    assert.equal(reopened.warnings.length, 1);
    assert.match(reopened.warnings[0] ?? '', /registry\.json was unreadable \(not valid JSON\).*registry\.json\.bak/);
    assert.doesNotMatch(reopened.warnings[0] ?? '', new RegExp(home.replaceAll('\\', '\\\\')));
    assert.equal(await readFile(path.join(home, 'registry.json.corrupt'), 'utf8'), '{"version":1,"models":{"org/embed":{"model_id"');
    // The next write heals the main file.
    await reopened.register({ model_id: 'org/two', task_type: 'txt2txt' });
    const healed = JSON.parse(await readFile(path.join(home, 'registry.json'), 'utf8')) as { models: Record<string, unknown> };
    assert.deepEqual(Object.keys(healed.models).sort(), ['org/embed', 'org/two']);
  });

  it('rejects well-formed JSON of the wrong shape like a corrupt file', async () => {
    await registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    await writeFile(path.join(home, 'registry.json'), '{"models":{"x":{"model_id":"x","status":"bogus"}}}', 'utf8');
    const reopened = await Registry.open({ home });
    assert.match(reopened.warnings[0] ?? '', /unexpected content/);
    assert.equal((await reopened.list()).meta.total, 1);
  });

  it('refuses to start when both files are unreadable rather than starting empty', async () => {
    await writeFile(path.join(home, 'registry.json'), 'garbage', 'utf8');
    await writeFile(path.join(home, 'registry.json.bak'), 'also garbage', 'utf8');
    await assert.rejects(Registry.open({ home }), (err: unknown) => {
      assert.ok(err instanceof ModelMoraError && err.code === 'INTERNAL_ERROR');
      assert.match(err.message, /registry\.json and registry\.json\.bak are both unreadable/);
      assert.ok(!err.message.includes(home));
      return true;
    });
  });

  it('restores a missing registry.json from the .bak', async () => {
    await registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    await rm(path.join(home, 'registry.json'));
    const reopened = await Registry.open({ home });
    assert.equal((await reopened.list()).meta.total, 1);
    assert.match(reopened.warnings[0] ?? '', /missing/);
  });

  it('marks downloads cut short by a restart as failed', async () => {
    await registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    await registry.setStatus('org/embed', 'downloading');
    const reopened = await Registry.open({ home });
    const record = await reopened.get('org/embed');
    assert.equal(record.status, 'failed');
    assert.match(record.error ?? '', /interrupted/);
    assert.match(reopened.warnings[0] ?? '', /1 interrupted download.*org\/embed/);
  });

  it('seeds from the manifest, keeping status unless the files it points at changed', async () => {
    const created = await registry.upsertFromManifest({ model_id: 'org/embed', task_type: 'txt2embed', revision: 'v1', commit: 'a'.repeat(40), keep_alive: '-1', preload: true });
    assert.equal(created.created, true);
    assert.equal(created.record.version, 'v1');
    assert.equal(created.record.preload, true);
    assert.equal(created.record.keep_alive, '-1');
    await registry.setStatus('org/embed', 'downloading');
    await registry.setStatus('org/embed', 'ready');

    const same = await registry.upsertFromManifest({ model_id: 'org/embed', task_type: 'txt2embed', revision: 'v1', commit: 'a'.repeat(40), config: { normalize: true } });
    assert.equal(same.created, false);
    assert.equal(same.record.status, 'ready');
    assert.deepEqual(same.record.config, { normalize: true });
    assert.equal(same.record.created_at, created.record.created_at);

    const moved = await registry.upsertFromManifest({ model_id: 'org/embed', task_type: 'txt2embed', revision: 'v2' });
    assert.equal(moved.record.status, 'registered');
    assert.equal(moved.record.revision, 'v2');
  });
});
