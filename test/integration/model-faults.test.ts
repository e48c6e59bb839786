import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ModelMoraError } from '../../src/domain/errors.js';
import { createRunnerFactory } from '../../src/runtime/runner-client.js';
import { BAD_MODEL_KINDS, GLOVE_2K, writeBadModel } from '../support/bad-models.js';
import { DEMO_MODEL, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { call, modelState, SLOW_INPUT_FLAGS, slowInput, status, waitBusy, waitFor } from '../support/daemon-http.js';
import { removeDir, tempDir } from '../support/fixtures.js';

// Faults on real daemons: model files that are not models, unload and delete while a model
// serves or loads, and a corrupt registry and job journal at start.

let dir: string;
before(async () => {
  dir = await tempDir('modelmora-model-faults-');
});
after(() => removeDir(dir));

const GOOD = 'good/glove';
const good = (api: string, i: number) => call(api, 'POST', `/infer/${GOOD}`, { input_data: { text: `still serving ${i}` } });

describe('a model file that is not a valid model', () => {
  let daemon: DaemonProcess;
  before(async () => {
    const models = [{ id: GOOD, task: 'txt2embed', source: GLOVE_2K }];
    for (const kind of BAD_MODEL_KINDS) models.push({ id: `bad/${kind}`, task: 'txt2embed', source: await writeBadModel(path.join(dir, kind), kind) });
    daemon = await startDaemon({ models });
  });
  after(async () => {
    await daemon?.stop();
    if (daemon) await removeDir(path.dirname(daemon.home));
  });

  for (const kind of BAD_MODEL_KINDS) {
    test(`${kind}: the load fails with MODEL_LOAD_FAILED (REST 500), inference too, and a good model answers after it`, async () => {
      const load = await call(daemon.api, 'POST', `/models/bad/${kind}/load`);
      assert.equal(load.status, 500, load.text);
      assert.equal(load.body['error_code'], 'MODEL_LOAD_FAILED', load.text);
      assert.ok(!load.text.includes(dir) && !load.text.includes(daemon.home), load.text);
      const infer = await call(daemon.api, 'POST', `/infer/bad/${kind}`, { input_data: { text: 'hello' } });
      assert.equal(infer.body['error_code'], 'MODEL_LOAD_FAILED', infer.text);
      const after = await good(daemon.api, 0);
      assert.equal(after.status, 200, after.text);
      assert.equal(((after.body['output_data'] as { embedding: number[] }).embedding).length, 100);
    });
  }

  test('the daemon ran no runner for a bad model, and is still live', async () => {
    assert.equal((await call(daemon.api, 'GET', '/health/live')).status, 200);
    const s = await status(daemon.api);
    assert.deepEqual(s.loaded_models.filter((m) => m.model_id.startsWith('bad/') && m.state === 'loaded'), []);
  });
});

describe('a runner given a hostile folder refuses it before opening any file', () => {
  // A local source never copies a FIFO or a folder named model.onnx into the cache, so the
  // daemon test above sees them as missing files; a tampered cache is caught by the runner itself.
  for (const kind of ['fifo', 'directory', 'external-data-outside'] as const) {
    test(`${kind}: MODEL_LOAD_FAILED from a real runner process (a FIFO would otherwise block it until the load timeout)`, async () => {
      const folder = await writeBadModel(path.join(dir, `runner-${kind}`), kind);
      const factory = createRunnerFactory();
      await assert.rejects(factory({ modelId: `bad/${kind}`, taskType: 'txt2embed', folder, config: {} }), (err: unknown) => {
        assert.ok(err instanceof ModelMoraError);
        assert.equal(err.code, 'MODEL_LOAD_FAILED');
        assert.match(err.message, /model files are not usable/);
        assert.ok(!err.message.includes(dir), err.message);
        return true;
      });
    });
  }
});

describe('unload and delete while a model serves or loads', () => {
  const BUSY = 'busy/demo';
  let daemon: DaemonProcess;
  before(async () => {
    daemon = await startDaemon({ models: [{ id: BUSY, task: 'txt2embed', source: DEMO_MODEL }, { id: GOOD, task: 'txt2embed', source: GLOVE_2K }], args: SLOW_INPUT_FLAGS });
  });
  after(async () => {
    await daemon?.stop();
    if (daemon) await removeDir(path.dirname(daemon.home));
  });
  const infer = (body: unknown) => call(daemon.api, 'POST', `/infer/${BUSY}`, body);

  test('unload while serving: the in-flight request completes, new ones get 503, then the model is unloaded', async () => {
    const slow = infer(slowInput());
    await waitBusy(daemon.api, BUSY);
    // The unload answers once the model is gone, which is after the in-flight request.
    const unload = call(daemon.api, 'POST', `/models/${BUSY}/unload`);
    const refused = await waitFor('a request to be refused while unloading', async () => {
      const r = await infer({ input_data: { text: 'while unloading' } });
      return r.status === 200 ? undefined : r;
    });
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.body['error_code'], 'SERVICE_UNAVAILABLE');
    assert.equal(modelState(await status(daemon.api), BUSY)?.state, 'loaded', 'still loaded while its request runs');
    const done = await slow;
    assert.equal(done.status, 200, done.text);
    assert.equal((done.body['output_data'] as { embeddings: unknown[] }).embeddings.length, 256);
    const unloaded = await unload;
    assert.equal(unloaded.status, 200, unloaded.text);
    assert.equal(unloaded.body['state'], 'unloaded');
    assert.equal(modelState(await status(daemon.api), BUSY), undefined);
    assert.equal((await good(daemon.api, 1)).status, 200);
  });

  test('unload while loading: the load is called off with 503 SERVICE_UNAVAILABLE, the model is gone, the next request loads it again', async () => {
    const loading = call(daemon.api, 'POST', `/models/${BUSY}/load`);
    await waitFor('the model to be loading', async () => (modelState(await status(daemon.api), BUSY)?.state === 'loading' ? true : undefined), 2000, 5);
    const unload = await call(daemon.api, 'POST', `/models/${BUSY}/unload`);
    assert.equal(unload.status, 200, unload.text);
    assert.equal(unload.body['state'], 'unloaded');
    const load = await loading;
    assert.equal(load.status, 503, load.text);
    assert.equal(load.body['error_code'], 'SERVICE_UNAVAILABLE');
    assert.equal(modelState(await status(daemon.api), BUSY), undefined);
    const again = await infer({ input_data: { text: 'load me again' } });
    assert.equal(again.status, 200, again.text);
  });

  test('delete (force) while serving: the in-flight request completes, new ones get 503 then 404, the daemon serves others', async () => {
    const slow = infer(slowInput());
    await waitBusy(daemon.api, BUSY);
    const refusedPlain = await call(daemon.api, 'DELETE', `/models/${BUSY}`);
    assert.equal(refusedPlain.status, 409, refusedPlain.text);
    assert.equal(refusedPlain.body['error_code'], 'MODEL_IN_USE');
    const deleting = call(daemon.api, 'DELETE', `/models/${BUSY}?force=true`);
    await waitFor('the unload to start', async () => {
      const r = await infer({ input_data: { text: 'while deleting' } });
      if (r.status === 200) return undefined;
      assert.equal(r.status, 503, r.text);
      assert.equal(r.body['error_code'], 'SERVICE_UNAVAILABLE');
      return true;
    });
    const done = await slow;
    assert.equal(done.status, 200, done.text);
    assert.equal((await deleting).status, 204);
    const gone = await infer({ input_data: { text: 'after the delete' } });
    assert.equal(gone.status, 404, gone.text);
    assert.equal(gone.body['error_code'], 'MODEL_NOT_FOUND');
    assert.equal((await good(daemon.api, 2)).status, 200);
  });
});

describe('a corrupt registry and job journal at start', () => {
  test('are reported as warnings and the daemon starts from the last good state', async () => {
    const models = [{ id: GOOD, task: 'txt2embed', source: GLOVE_2K }];
    const first = await startDaemon({ models });
    let second: DaemonProcess | undefined;
    try {
      const reg = await call(first.api, 'POST', '/models', { model_id: 'api/registered', task_type: 'txt2embed', display_name: 'kept' });
      assert.equal(reg.status, 201, reg.text);
      const job = await call<{ job_id: string }>(first.api, 'POST', `/infer/${GOOD}/async`, { input_data: { text: 'a job before the crash' } });
      assert.equal(job.status, 202);
      const jobId = job.body.job_id;
      await waitFor('the job to complete', async () => ((await call(first.api, 'GET', `/jobs/${jobId}`)).body['status'] === 'completed' ? true : undefined));
      assert.deepEqual(await first.stop(), { code: 0, signal: null });

      // Damage: the registry file is garbage (a bad disk, a bad hand edit); the journal gets a
      // garbage line in the middle and a torn record at the end (kill -9 mid-append).
      await fs.writeFile(path.join(first.home, 'registry.json'), '{"version":1,"models":{"api/regis');
      const journal = path.join(first.home, 'jobs', 'jobs.log');
      const lines = (await fs.readFile(journal, 'utf8')).split('\n').filter(Boolean);
      await fs.writeFile(journal, [...lines, 'not json at all', '{"t":"put","job":{"id":"torn'].join('\n'));

      second = await startDaemon({ models, home: first.home, dir: first.dir });
      const warnings = second.logs.filter((l) => l['level'] === 40).map((l) => `${l['msg']}: ${l['warning']}`);
      assert.ok(warnings.some((w) => /^registry recovered: registry\.json was unreadable .*registry\.json\.bak/.test(w)), warnings.join('\n'));
      assert.equal(warnings.filter((w) => w.startsWith('job store recovered: jobs.log line')).length, 2, warnings.join('\n'));
      for (const w of warnings) assert.ok(!w.includes(first.home), w);
      const kept = await call(second.api, 'GET', '/models/api/registered');
      assert.equal(kept.status, 200, kept.text);
      assert.equal(kept.body['display_name'], 'kept');
      const jobAfter = await call(second.api, 'GET', `/jobs/${jobId}`);
      assert.equal(jobAfter.body['status'], 'completed');
      assert.equal((await good(second.api, 3)).status, 200);
    } finally {
      await second?.stop();
      if (first.child.exitCode === null) await first.stop();
      await removeDir(path.dirname(first.home));
    }
  });

  test('both the registry and its backup unreadable: the daemon refuses to start (exit 1, one clear line) rather than start empty', async () => {
    const home = path.join(dir, 'both-bad-home');
    await fs.mkdir(home, { recursive: true });
    await fs.writeFile(path.join(home, 'registry.json'), 'garbage');
    await fs.writeFile(path.join(home, 'registry.json.bak'), 'garbage too');
    const projectDir = path.join(dir, 'both-bad-project');
    await assert.rejects(startDaemon({ home, dir: projectDir }), (err: Error) => {
      assert.match(err.message, /registry\.json and registry\.json\.bak are both unreadable/);
      assert.ok(!err.message.includes(home), err.message);
      return true;
    });
  });
});
