import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDaemon, FIXTURE_MODELS, type DaemonProcess } from '../support/daemon-process.js';
import { grpc, grpcClients, type GrpcClients, type Msg } from '../support/grpc-client.js';

/**
 * InferStream against a real daemon: every request answered, answers for one request_id in the
 * order sent, a bad request answered with an error message without ending the stream, and the
 * stream ending (status OK) once the client half-closes and every answer is written.
 */

const MODEL = 'test/glove';
const WORDS = ['market', 'city', 'water', 'music', 'school', 'river', 'money', 'people', 'house', 'night', 'game', 'world', 'power', 'light', 'story', 'field', 'party', 'price', 'color', 'train'];

interface StreamAnswer {
  model_id: string;
  output_data: {
    embedding?: { values: number[] };
    embedding_batch?: { embeddings: Array<{ values: number[] }> };
    custom_data?: { fields: Record<string, { stringValue?: string }> } | null;
  } | null;
  error: { code: string; message: string; details: Record<string, string>; trace_id: string } | null;
}

interface Sent {
  request: Msg;
  /** The embeddings the answer must hold (one per text), or the error code it must carry. */
  expect: number[][] | { error: string };
}

describe('gRPC InferStream against a real daemon', () => {
  let daemon: DaemonProcess;
  let c: GrpcClients;

  before(async () => {
    daemon = await startDaemon({ models: [{ id: MODEL, task: 'txt2embed', source: `${FIXTURE_MODELS}glove-2k`, preload: true }] });
    c = grpcClients(daemon.grpcPort!);
  });

  after(async () => {
    c?.close();
    await daemon?.stop();
  });

  const embedding = async (text: string) => {
    const { response } = await c.call<StreamAnswer>('inference', 'Infer', { model_id: MODEL, input_data: { text } });
    return response.output_data!.embedding!.values;
  };

  /** Sends every request on one stream, half-closes, and collects the answers and the final status. */
  const stream = (requests: Msg[]) =>
    new Promise<{ answers: StreamAnswer[]; status: grpc.StatusObject }>((resolve, reject) => {
      const call = (c.inference as unknown as { InferStream(): grpc.ClientDuplexStream<Msg, StreamAnswer> }).InferStream();
      const answers: StreamAnswer[] = [];
      call.on('data', (answer: StreamAnswer) => answers.push(answer));
      call.on('error', reject);
      call.on('status', (status: grpc.StatusObject) => resolve({ answers, status }));
      for (const request of requests) call.write(request);
      call.end();
    });

  const requestIdOf = (answer: StreamAnswer) =>
    answer.error ? answer.error.details['request_id'] ?? '' : answer.output_data?.custom_data?.fields['request_id']?.stringValue ?? '';

  const valuesOf = (answer: StreamAnswer): number[][] | { error: string } =>
    answer.error
      ? { error: answer.error.code }
      : answer.output_data!.embedding
        ? [answer.output_data!.embedding.values]
        : answer.output_data!.embedding_batch!.embeddings.map((e) => e.values);

  test('100 interleaved requests (texts and batches, five request ids, one bad) are all answered in order per request_id', async () => {
    const ids = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const text = (i: number) => `${WORDS[i % 20]} ${WORDS[(i * 7 + 3) % 20]} ${WORDS[(i * 3 + 1) % 20]}`;
    const expected = new Map<string, number[]>();
    for (let i = 0; i < 130; i++) if (!expected.has(text(i))) expected.set(text(i), await embedding(text(i)));

    const sent: Sent[] = [];
    for (let i = 0; i < 100; i++) {
      // Ids in an irregular pattern so answers of different ids interleave on the wire.
      const request_id = ids[(i * i + 3 * i) % ids.length]!;
      if (i === 37) {
        sent.push({ request: { model_id: MODEL, input_data: { text: '' }, request_id }, expect: { error: 'VALIDATION_ERROR' } });
      } else if (i % 4 === 1) {
        const texts = [text(i), text(i + 10), text(i + 20)];
        sent.push({ request: { model_id: MODEL, input_data: { text_batch: { texts } }, request_id }, expect: texts.map((t) => expected.get(t)!) });
      } else {
        sent.push({ request: { model_id: MODEL, input_data: { text: text(i) }, request_id, priority: i % 2 ? 'PRIORITY_HIGH' : 'PRIORITY_LOW' }, expect: [expected.get(text(i))!] });
      }
    }

    const { answers, status } = await stream(sent.map((s) => s.request));
    assert.equal(status.code, grpc.status.OK, status.details);
    assert.equal(answers.length, 100, 'every request is answered, the bad one included');

    for (const id of ids) {
      const want = sent.filter((s) => s.request['request_id'] === id).map((s) => s.expect);
      const got = answers.filter((a) => requestIdOf(a) === id).map(valuesOf);
      assert.deepEqual(got, want, `answers for ${id} in the order sent`);
    }
    const bad = answers.find((a) => a.error);
    assert.ok(bad?.error);
    assert.equal(bad.error.details['input_data.text'], 'must not be empty');
    assert.match(bad.error.trace_id, /^[0-9a-f-]{36}$/);
    assert.equal(answers.filter((a) => a.error).length, 1);
  });

  test('without request ids every answer comes in the order sent; an unknown model is answered with NOT_FOUND and the stream goes on', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `${WORDS[i]} ${WORDS[(i + 5) % 20]}`);
    const want: Array<number[][] | { error: string }> = [];
    const requests: Msg[] = [];
    for (const [i, t] of texts.entries()) {
      if (i === 4) {
        requests.push({ model_id: 'nobody/nothing', input_data: { text: t } });
        want.push({ error: 'MODEL_NOT_FOUND' });
      } else if (i === 9) {
        requests.push({ model_id: 'bad..id', input_data: { text: t } });
        want.push({ error: 'INVALID_MODEL_ID' });
      } else {
        requests.push({ model_id: MODEL, input_data: { text: t } });
        want.push([await embedding(t)]);
      }
    }
    const { answers, status } = await stream(requests);
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(answers.map(valuesOf), want);
  });

  test('a stream closed at once with nothing sent ends with OK and no answers', async () => {
    const { answers, status } = await stream([]);
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(answers, []);
  });

  test('SIGTERM with a stream open: its answers are written, the stream ends OK, the daemon exits 0', async () => {
    const call = (c.inference as unknown as { InferStream(): grpc.ClientDuplexStream<Msg, StreamAnswer> }).InferStream();
    const answers: StreamAnswer[] = [];
    call.on('data', (answer: StreamAnswer) => answers.push(answer));
    call.on('error', () => undefined);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    for (let i = 0; i < 10; i++) call.write({ model_id: MODEL, input_data: { text: `${WORDS[i]} ${WORDS[i + 1]}` } });
    for (let i = 0; i < 500 && answers.length < 10; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(answers.length, 10);
    const exit = await daemon.stop();
    assert.equal((await status).code, grpc.status.OK);
    assert.equal(answers.filter((a) => a.error).length, 0);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(daemon.logs.some((l) => l['msg'] === 'modelmora stopped'));
  });
});
