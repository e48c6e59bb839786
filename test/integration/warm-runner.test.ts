import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { ModelMoraError } from '../../src/domain/errors.js';
import type { LoadSpec, RunnerHandle } from '../../src/domain/runner.js';
import { createRunnerFactory, type ProcessRunnerFactory } from '../../src/runtime/runner-client.js';
import { startDaemon, FIXTURE_MODELS, type DaemonProcess } from '../support/daemon-process.js';
import { call, modelState, status, waitFor } from '../support/daemon-http.js';
import { processGone } from '../support/process-gone.js';

// Real runner processes: the factory's warm spare, and a real daemon that keeps one.
const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/models/glove-2k', import.meta.url));
const spec: LoadSpec = { modelId: 'test/glove-2k', taskType: 'txt2embed', folder: FIXTURE, config: {} };

function spareOf(factory: ProcessRunnerFactory, other?: number): Promise<number> {
  return waitFor('a spare runner', () => {
    const pid = factory.sparePid();
    return pid !== other ? pid : undefined;
  });
}

async function embedOne(runner: RunnerHandle): Promise<number> {
  const result = await runner.run({ items: [{ kind: 'text', text: 'warm hello' }], parameters: {} });
  const output = result.outputs[0];
  assert.equal(output?.kind, 'embedding');
  return output.kind === 'embedding' ? output.embedding.length : 0;
}

describe('runner factory with a warm spare', () => {
  const factory = createRunnerFactory({ spares: 1 });
  const runners: RunnerHandle[] = [];
  after(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await factory.close();
  });

  test('a load takes the spare that existed before it; the next load gets a freshly forked one', async () => {
    const first = await spareOf(factory);
    const a = await factory(spec);
    runners.push(a);
    assert.equal(a.pid, first, 'the model runs in the spare process');
    assert.ok((await embedOne(a)) > 0);
    const second = await spareOf(factory, first);
    assert.notEqual(second, a.pid);
    const b = await factory(spec);
    runners.push(b);
    assert.equal(b.pid, second);
    assert.ok((await embedOne(b)) > 0);
    await Promise.all(runners.splice(0).map((r) => r.stop()));
  });

  test('a failed load spends the spare but does not poison the next one', async () => {
    const spare = await spareOf(factory);
    await assert.rejects(factory({ ...spec, folder: `${FIXTURE}-missing` }), (err) => err instanceof ModelMoraError && err.code === 'MODEL_LOAD_FAILED');
    await waitFor('the failed runner to exit', () => (processGone(spare) ? true : undefined));
    const next = await spareOf(factory, spare);
    const runner = await factory(spec);
    runners.push(runner);
    assert.equal(runner.pid, next);
    assert.ok((await embedOne(runner)) > 0);
    await runner.stop();
  });

  test('a spare that died idle is replaced lazily: the next load forks cold, then a spare comes back', async () => {
    const spare = await spareOf(factory);
    process.kill(spare, 'SIGKILL');
    await waitFor('the spare to die', () => (processGone(spare) ? true : undefined));
    assert.equal(factory.sparePid(), undefined);
    const runner = await factory(spec);
    runners.push(runner);
    assert.notEqual(runner.pid, spare);
    assert.ok((await embedOne(runner)) > 0);
    const refilled = await spareOf(factory);
    assert.notEqual(refilled, runner.pid);
    await runner.stop();
  });

  test('close() kills the spare and forks no more; loads after it start cold', async () => {
    const spare = await spareOf(factory);
    await factory.close();
    assert.ok(processGone(spare), 'the spare process is gone');
    assert.equal(factory.sparePid(), undefined);
    const runner = await factory(spec);
    assert.notEqual(runner.pid, spare);
    assert.ok((await embedOne(runner)) > 0);
    await runner.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(factory.sparePid(), undefined, 'no spare after close()');
  });
});

describe('daemon with warm_runner (default on)', () => {
  let daemon: DaemonProcess;
  after(async () => {
    await daemon?.stop();
  });

  test('a load uses the spare (GET /status shows its pid); stop() leaves no runner, spare included', async () => {
    daemon = await startDaemon({ models: [{ id: 'glove', task: 'txt2embed', source: `${FIXTURE_MODELS}glove-2k` }] });
    const [spare] = await waitFor('the daemon spare', async () => {
      const pids = await daemon.sparePids();
      return pids.length === 1 ? pids : undefined;
    });
    assert.deepEqual(await daemon.runnerPids(), [], 'a spare is not a model runner');
    assert.equal((await call(daemon.api, 'POST', '/models/glove/load')).status, 200);
    const loaded = modelState(await status(daemon.api), 'glove');
    assert.equal(loaded?.pid, spare, 'the model took the spare process');
    assert.deepEqual(await daemon.runnerPids(), [spare]);
    const next = await waitFor('the next spare', async () => {
      const pids = await daemon.sparePids();
      return pids.length === 1 && pids[0] !== spare ? pids[0] : undefined;
    });
    const stopped = await daemon.stop();
    assert.equal(stopped.code, 0);
    assert.ok(processGone(spare!) && processGone(next!), 'the model runner and the spare are both gone');
  });
});

describe('daemon with warm_runner: false', () => {
  let daemon: DaemonProcess;
  after(async () => {
    await daemon?.stop();
  });

  test('keeps no spare: a load forks its runner', async () => {
    daemon = await startDaemon({ models: [{ id: 'glove', task: 'txt2embed', source: `${FIXTURE_MODELS}glove-2k` }], server: { warm_runner: false } });
    assert.equal((await call(daemon.api, 'POST', '/models/glove/load')).status, 200);
    const pid = modelState(await status(daemon.api), 'glove')?.pid;
    assert.ok(pid !== undefined);
    assert.deepEqual(await daemon.runnerPids(), [pid]);
    assert.deepEqual(await daemon.sparePids(), []);
  });
});
