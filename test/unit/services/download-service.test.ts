import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { DownloadService } from '../../../src/services/download-service.js';
import { Registry } from '../../../src/store/registry.js';

/** A download port the test finishes by hand, counting how often it was called per model. */
function gatedPort() {
  const calls = new Map<string, number>();
  const gates = new Map<string, { resolve(): void; reject(err: unknown): void }>();
  const port = (modelId: string) => {
    calls.set(modelId, (calls.get(modelId) ?? 0) + 1);
    return new Promise<void>((resolve, reject) => gates.set(modelId, { resolve, reject }));
  };
  return { port, calls, gates };
}

describe('DownloadService: the one owner of downloads', () => {
  let home: string;
  let registry: Registry;
  before(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'modelmora-downloads-'));
    registry = await Registry.open({ home });
    for (const id of ['org/a', 'org/b']) await registry.register({ model_id: id, task_type: 'txt2embed' });
  });
  after(() => fs.rm(home, { recursive: true, force: true }));

  const idle = () => new Promise((resolve) => setImmediate(resolve));
  /** Until the port was called for the model (the registry write before it takes a few turns). */
  const called = async (gates: Map<string, unknown>, id: string) => {
    for (let i = 0; i < 1000 && !gates.has(id); i++) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.ok(gates.has(id), `the download of ${id} started`);
  };

  it('a first request joins the download an API call started: one fetch, and the registry ends ready', async () => {
    const { port, calls, gates } = gatedPort();
    const downloads = new DownloadService(registry, port);
    assert.deepEqual(await downloads.start('org/a'), { started: true });
    const lazy = downloads.fetch('org/a');
    await idle();
    assert.equal((await registry.get('org/a')).status, 'downloading');
    gates.get('org/a')!.resolve();
    await lazy;
    assert.equal(calls.get('org/a'), 1);
    assert.equal((await registry.get('org/a')).status, 'ready');
  });

  it('a lazy download that fails rejects with its error and leaves the model failed with the reason', async () => {
    const { port, gates } = gatedPort();
    const downloads = new DownloadService(registry, port);
    const lazy = downloads.fetch('org/b');
    await called(gates, 'org/b');
    assert.equal(downloads.isRunning('org/b'), true, 'visible to DELETE and to other skins');
    gates.get('org/b')!.reject(new ModelMoraError('DOWNLOAD_FAILED', 'the hub said 503'));
    await assert.rejects(lazy, (err: unknown) => err instanceof ModelMoraError && err.message === 'the hub said 503');
    const record = await registry.get('org/b');
    assert.deepEqual([record.status, record.error], ['failed', 'the hub said 503']);
  });
});
