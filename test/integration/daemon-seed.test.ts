import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { stringify } from 'yaml';
import { cliWorld, type CliWorld } from '../support/cli-run.js';
import { DEMO_MODEL, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { call } from '../support/daemon-http.js';

// The API document's model states: a model whose locked files are complete in the cache is
// `ready` when the daemon starts, not `registered` until its first load.

const PULLED = 'modelmora/glove-demo';
const NOT_PULLED = 'local/not-pulled';

let w: CliWorld | undefined;
let daemon: DaemonProcess | undefined;
after(async () => {
  await daemon?.stop();
  await w?.cleanup();
});

test('a model pulled into the cache is ready at start; one not pulled stays registered', async () => {
  w = await cliWorld();
  const models = [
    { id: PULLED, task: 'txt2embed', source: DEMO_MODEL },
    { id: NOT_PULLED, task: 'txt2embed', source: DEMO_MODEL },
  ];
  await w.write('modelmora.yaml', stringify({ models: [models[0]] }));
  const pull = await w.run(['pull']);
  assert.equal(pull.code, 0, pull.stderr);
  // The second model joins the manifest unlocked and unfetched.
  daemon = await startDaemon({ dir: w.dir, home: w.home, models });
  const state = async (id: string) => (await call<{ status: string }>(daemon!.api, 'GET', `/models/${encodeURIComponent(id)}`)).body.status;
  assert.equal(await state(PULLED), 'ready');
  assert.equal(await state(NOT_PULLED), 'registered');
  assert.deepEqual(await daemon.runnerPids(), [], 'no load was needed to know');
});
