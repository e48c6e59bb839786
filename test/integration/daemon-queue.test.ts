import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEMO_MODEL, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import {
  call,
  maxAbsDiff,
  modelState,
  runnerCalls,
  scrape,
  LONGER,
  SLOW_INPUT_FLAGS,
  slowInput,
  status,
  valueOr0,
  waitBusy,
  waitFor,
  type Reply,
  type Vector,
} from '../support/daemon-http.js';
import { sampleValue } from '../support/prom-parse.js';

// Queue, priorities, deadlines and dynamic batching of a real daemon, observed from outside:
// completion order, status codes, /status queue depth and the runner-call count in /metrics.
// Nothing here measures time; a slow input holds the runner busy and /status proves it was.

let daemon: DaemonProcess;
let api: string;

/** One request per runner call (server flag); 'batched' overrides it per model. */
const SERIAL = 'serial';
const SMALL_QUEUE = 'small-queue';
const BATCHED = 'batched';

interface Embedded {
  output_data: { embedding?: Vector; embeddings?: Vector[] };
  metadata: { batch_size: number };
}

before(async () => {
  daemon = await startDaemon({
    models: [
      { id: SERIAL, task: 'txt2embed', source: DEMO_MODEL },
      { id: SMALL_QUEUE, task: 'txt2embed', source: DEMO_MODEL, config: { max_queue_size: 2 } },
      { id: BATCHED, task: 'txt2embed', source: DEMO_MODEL, config: { max_batch_size: 32 } },
    ],
    // Aging off: the order asserted below is strict priority, whatever the machine's speed.
    args: ['--max-batch-size', '1', '--priority-aging-ms', '0', ...SLOW_INPUT_FLAGS],
  });
  api = daemon.api;
  // Loaded and warmed up (the first run of a runner compiles its code paths).
  for (const id of [SERIAL, SMALL_QUEUE, BATCHED]) assert.equal((await call(api, 'POST', `/infer/${id}`, { input_data: { text: 'warm up' } })).status, 200);
});

after(async () => {
  await daemon?.stop();
});

const infer = (model: string, body: unknown) => call<Embedded & Record<string, unknown>>(api, 'POST', `/infer/${model}`, body);

async function queued(): Promise<number> {
  const d = (await status(api)).queue_depth;
  return d.high_priority + d.medium_priority + d.low_priority;
}

/** Starts a request and returns (its answer to come) once /status shows it waiting in the queue. */
async function enqueue(model: string, body: unknown, waiting: number): Promise<{ reply: Promise<Reply<Embedded & Record<string, unknown>>> }> {
  const reply = infer(model, body);
  await waitFor(`request ${waiting} to be queued`, async () => ((await queued()) >= waiting ? true : undefined));
  return { reply };
}

test('with the runner busy, queued requests run high first, then medium, then low, FIFO within a level', async () => {
  const slow = infer(SERIAL, slowInput());
  await waitBusy(api, SERIAL);
  const order: string[] = [];
  const submitted = ['low-1', 'high-1', 'medium-1', 'low-2', 'high-2', 'medium-2'];
  const replies: Promise<unknown>[] = [];
  for (const [i, name] of submitted.entries()) {
    const priority = name.split('-')[0];
    const { reply } = await enqueue(SERIAL, { input_data: { text: `request ${name}` }, priority }, i + 1);
    replies.push(reply.then((r) => (assert.equal(r.status, 200, r.text), order.push(name))));
  }
  const s = await status(api);
  assert.equal(modelState(s, SERIAL)?.in_flight, 1, 'the slow request was still running when all six were queued');
  assert.deepEqual(s.queue_depth, { high_priority: 2, medium_priority: 2, low_priority: 2 });
  assert.equal((await slow).status, 200);
  await Promise.all(replies);
  assert.deepEqual(order, ['high-1', 'high-2', 'medium-1', 'medium-2', 'low-1', 'low-2']);
});

test('a request whose deadline passes in the queue gets 408 INFERENCE_TIMEOUT; it and a dropped client never reach the runner', async () => {
  const before = await scrape(api);
  const calls0 = runnerCalls(before, SERIAL);
  const items0 = sampleValue(before, 'modelmora_batch_size_sum', { model_id: SERIAL });
  const timeouts0 = valueOr0(before, 'modelmora_requests_total', { model_id: SERIAL, status: 'timeout' });

  const cancelled0 = valueOr0(before, 'modelmora_requests_total', { model_id: SERIAL, status: 'cancelled' });

  const slow = infer(SERIAL, slowInput(LONGER));
  await waitBusy(api, SERIAL);
  // A client that goes away is dropped from the queue too.
  const abort = new AbortController();
  const gone = fetch(`${api}/infer/${SERIAL}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input_data: { text: 'never mind' } }),
    signal: abort.signal,
  }).catch((err: Error) => err.name);
  await waitFor('the abandoned request to queue', async () => ((await queued()) === 1 ? true : undefined));
  abort.abort();
  assert.equal(await gone, 'AbortError');
  await waitFor('the abandoned request to leave the queue', async () => ((await queued()) === 0 ? true : undefined));
  const late = await infer(SERIAL, { input_data: { text: 'too late' }, priority: 'high', timeout_seconds: 1 });
  assert.equal(modelState(await status(api), SERIAL)?.in_flight, 1, 'the slow request was still running when the deadline passed');
  assert.equal(late.status, 408, late.text);
  assert.equal(late.body['error_code'], 'INFERENCE_TIMEOUT');
  assert.equal(await queued(), 0, 'the expired request left the queue');
  const done = await slow;
  assert.equal(done.status, 200);
  assert.equal(done.body.output_data.embeddings?.length, 256);

  const after = await scrape(api);
  assert.equal(runnerCalls(after, SERIAL) - calls0, 1, 'one runner call: the slow request only');
  assert.equal(valueOr0(after, 'modelmora_requests_total', { model_id: SERIAL, status: 'cancelled' }) - cancelled0, 1);
  assert.equal(sampleValue(after, 'modelmora_batch_size_sum', { model_id: SERIAL }) - items0, 256, 'only its 256 items ran');
  assert.equal(valueOr0(after, 'modelmora_requests_total', { model_id: SERIAL, status: 'timeout' }) - timeouts0, 1);
});

test('a full queue answers 429 RATE_LIMIT_EXCEEDED with Retry-After; queued requests still complete', async () => {
  const slow = infer(SMALL_QUEUE, slowInput());
  await waitBusy(api, SMALL_QUEUE);
  const { reply: first } = await enqueue(SMALL_QUEUE, { input_data: { text: 'first' } }, 1);
  const { reply: second } = await enqueue(SMALL_QUEUE, { input_data: { text: 'second' } }, 2);
  const refused = await infer(SMALL_QUEUE, { input_data: { text: 'third' } });
  assert.equal(refused.status, 429, refused.text);
  assert.equal(refused.body['error_code'], 'RATE_LIMIT_EXCEEDED');
  const retryAfter = refused.headers.get('retry-after');
  assert.match(retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After in whole seconds');
  assert.equal((refused.body['details'] as Record<string, unknown>)['retry_after_seconds'], Number(retryAfter));
  assert.equal(modelState(await status(api), SMALL_QUEUE)?.in_flight, 1, 'refused while the queue was full, not after');
  for (const r of await Promise.all([slow, first, second])) assert.equal(r.status, 200);
  assert.equal(valueOr0(await scrape(api), 'modelmora_requests_total', { model_id: SMALL_QUEUE, status: 'rejected' }), 1);
  assert.equal((await infer(SMALL_QUEUE, { input_data: { text: 'room again' } })).status, 200);
});

test('32 concurrent single requests reach the runner as one call, with the results of unbatched calls', async () => {
  // The requests arrive while the runner is busy, so how fast this machine reads 32 connections
  // does not matter: they all wait, and the next batch takes them together (max_batch_size 32).
  const texts = Array.from({ length: 32 }, (_, i) => `sentence ${i} about ${['markets', 'kittens', 'rivers', 'music'][i % 4]} and ${i * 7} things`);
  const calls0 = runnerCalls(await scrape(api), BATCHED);
  // Medium, not slowInput's high: after a high request lower levels batch short for a while.
  const slow = infer(BATCHED, { ...slowInput(), priority: 'medium' });
  await waitBusy(api, BATCHED);
  const pending = Promise.all(texts.map((text) => infer(BATCHED, { input_data: { text } })));
  await waitFor('the 32 requests to queue', async () => ((await queued()) === 32 ? true : undefined));
  assert.equal(modelState(await status(api), BATCHED)?.in_flight, 1, 'all 32 queued while the slow request ran');
  assert.equal((await slow).status, 200);
  const concurrent = await pending;
  const calls = runnerCalls(await scrape(api), BATCHED) - calls0;
  assert.equal(calls, 2, 'the slow request, then one call for the 32');
  for (const r of concurrent) assert.equal(r.body.metadata.batch_size, 32);

  const alone: Vector[] = [];
  for (const text of texts) {
    const r = await infer(BATCHED, { input_data: { text } });
    assert.equal(r.body.metadata.batch_size, 1, 'one request at a time runs alone');
    alone.push(r.body.output_data.embedding!);
  }
  for (const [i, r] of concurrent.entries()) {
    assert.equal(r.status, 200);
    assert.ok(maxAbsDiff(r.body.output_data.embedding!, alone[i]!) < 1e-5, `request ${i}`);
  }
  assert.equal(runnerCalls(await scrape(api), BATCHED) - calls0, calls + 32);
});
