import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEMO_MODEL, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { call, modelState, scrape, SLOW_INPUT_FLAGS, slowInput, status, valueOr0, waitBusy, waitFor } from '../support/daemon-http.js';

// Real faults on a real daemon: a runner killed with SIGKILL mid-request, then SIGTERM with work
// in flight. The second test ends the daemon, so the order of the tests matters.

const VICTIM = 'victim';
const BYSTANDER = 'bystander';
let daemon: DaemonProcess;
let api: string;

type Body = Record<string, unknown>;

before(async () => {
  daemon = await startDaemon({
    models: [
      { id: VICTIM, task: 'txt2embed', source: DEMO_MODEL },
      { id: BYSTANDER, task: 'txt2embed', source: DEMO_MODEL },
    ],
    args: SLOW_INPUT_FLAGS,
  });
  api = daemon.api;
});

after(async () => {
  if (daemon && daemon.child.exitCode === null && daemon.child.signalCode === null) await daemon.stop();
});

const infer = (model: string, body: unknown) => call(api, 'POST', `/infer/${model}`, body);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('SIGKILL of a runner mid-request: UNHEALTHY_MODEL, unhealthy in /health/models, reloaded by the next request; the other model answers throughout', async () => {
  assert.equal((await call(api, 'POST', `/models/${VICTIM}/load`)).status, 200);
  const [victimPid] = await daemon.runnerPids();
  const restarts = async () => valueOr0(await scrape(daemon.url), 'modelmora_runner_restarts_total', { model_id: VICTIM });
  const restartsBefore = await restarts();
  assert.equal((await call(api, 'POST', `/models/${BYSTANDER}/load`)).status, 200);
  const pids = await daemon.runnerPids();
  assert.equal(pids.length, 2);
  assert.ok(victimPid !== undefined && pids.includes(victimPid));

  // The bystander is asked again and again while the victim dies and comes back.
  const now: { phase: 'before' | 'dead' | 'back' | 'stop' } = { phase: 'before' };
  const seen: Array<{ phase: string; status: number }> = [];
  const bystander = (async () => {
    for (let i = 0; i < 2000 && now.phase !== 'stop'; i++) {
      const r = await infer(BYSTANDER, { input_data: { text: `still here ${i}` } });
      seen.push({ phase: now.phase, status: r.status });
    }
  })();

  const slow = infer(VICTIM, slowInput());
  await waitBusy(api, VICTIM);
  await waitFor('a bystander answer before the kill', () => (seen.length > 0 ? true : undefined));
  process.kill(victimPid!, 'SIGKILL');
  now.phase = 'dead';
  const failed = await slow;
  assert.equal(failed.status, 503, failed.text);
  assert.equal(failed.body['error_code'], 'UNHEALTHY_MODEL');
  assert.match(String(failed.body['message']), /victim/);
  assert.match(String(failed.body['message']), /exited .*SIGKILL/);

  const health = await call<{ healthy_count: number; unhealthy_count: number; models: Body[] }>(api, 'GET', '/health/models');
  const victim = health.body.models.find((m) => m['model_id'] === VICTIM);
  assert.equal(victim?.['healthy'], false);
  assert.match(String(victim?.['error']), /SIGKILL/);
  assert.equal(health.body.models.find((m) => m['model_id'] === BYSTANDER)?.['healthy'], true);
  assert.equal(health.body.unhealthy_count, 1);
  assert.equal(modelState(await status(api), VICTIM)?.state, 'unhealthy');
  await waitFor('the bystander to answer after the kill', () => (seen.some((s) => s.phase === 'dead') ? true : undefined));

  const again = await infer(VICTIM, { input_data: { text: 'are you back' } });
  assert.equal(again.status, 200, again.text);
  now.phase = 'back';
  await waitFor('the bystander to answer after the reload', () => (seen.some((s) => s.phase === 'back') ? true : undefined));
  now.phase = 'stop';
  await bystander;

  const after = await daemon.runnerPids();
  assert.equal(after.length, 2, 'a new runner replaced the dead one');
  assert.ok(!after.includes(victimPid!));
  // The daemon says what happened: one restart counted, and log lines naming the model, the signal and the pids.
  assert.equal((await restarts()) - restartsBefore, 1);
  const died = daemon.logs.filter((l) => l['msg'] === 'runner died' && l['model_id'] === VICTIM);
  assert.deepEqual(died.map((l) => [l['signal'], l['runner_pid']]), [['SIGKILL', victimPid]]);
  const restarted = daemon.logs.filter((l) => l['msg'] === 'model restarted' && l['model_id'] === VICTIM);
  assert.equal(restarted.length, 1);
  assert.ok(after.includes(restarted[0]!['runner_pid'] as number), 'the restart line names the new runner');
  const healed = await call<{ unhealthy_count: number; models: Body[] }>(api, 'GET', '/health/models');
  assert.equal(healed.body.models.find((m) => m['model_id'] === VICTIM)?.['healthy'], true);
  assert.equal(healed.body.unhealthy_count, 0);
  assert.ok(seen.length >= 3);
  assert.deepEqual(
    seen.filter((s) => s.status !== 200),
    [],
    'every bystander request succeeded',
  );
});

test('SIGTERM with requests in flight: they complete, new ones get 503, the daemon exits 0 and stops its runners', async () => {
  const runners = await daemon.runnerPids();
  assert.equal(runners.length, 2);
  const slow = infer(VICTIM, slowInput());
  await waitBusy(api, VICTIM);
  const queued = infer(VICTIM, { input_data: { text: 'queued behind the slow one' } });
  await waitFor('the second request to queue', async () => ((await status(api)).queue_depth.medium_priority === 1 ? true : undefined));

  daemon.child.kill('SIGTERM');
  const notReady = await waitFor('readiness to turn 503', async () => {
    const r = await call(api, 'GET', '/health/ready');
    return r.status === 503 ? r : undefined;
  });
  assert.equal(notReady.body['status'], 'not_ready');
  const refused = await infer(BYSTANDER, { input_data: { text: 'too late' } });
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.body['error_code'], 'SERVICE_UNAVAILABLE');
  assert.equal((await call(api, 'POST', `/models/${BYSTANDER}/load`)).status, 503);
  assert.equal((await call(api, 'GET', '/status')).status, 503);

  const done = await slow;
  assert.equal(done.status, 200, 'the in-flight request completed');
  assert.equal((done.body['output_data'] as { embeddings: unknown[] }).embeddings.length, 256);
  assert.equal((await queued).status, 200, 'the queued request completed');
  const exit = await daemon.exited;
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(daemon.logs.some((l) => l['msg'] === 'modelmora stopped'));
  await waitFor('the runners to be gone', () => (runners.every((pid) => !alive(pid)) ? true : undefined));
});
