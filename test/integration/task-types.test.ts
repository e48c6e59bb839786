import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FIXTURE_MODELS, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { grpc, grpcClients, type GrpcClients, type Msg } from '../support/grpc-client.js';
import { dataUrl, jpegDeclaring, pngDeclaring, renderScene } from '../support/images.js';
import { parsePrometheus, sampleValue } from '../support/prom-parse.js';
import { parseSse } from '../support/sse.js';

/**
 * img2embed, img2txt (captioning) and txt2txt through a REAL daemon and real runners, on the
 * plumbing fixtures (seeded random weights: they prove the plumbing, not quality), over REST
 * and gRPC. Bad image inputs never reach a runner.
 */

const VIT = 'plumbing/vit-tiny';
const CAPTIONER = 'plumbing/vit-gpt2-captioner';
const GPT2 = 'plumbing/gpt2-tiny';
const T5 = 'plumbing/t5-tiny';

interface Answer {
  output_data: { embedding?: number[]; embeddings?: number[][]; text?: string; texts?: string[] };
  metadata: { batch_size: number };
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (a: number[]) => Math.sqrt(dot(a, a));

describe('task types through a real daemon', () => {
  let daemon: DaemonProcess;
  let c: GrpcClients;

  before(async () => {
    daemon = await startDaemon({
      models: [
        { id: VIT, task: 'img2embed', source: `${FIXTURE_MODELS}plumbing-vit-tiny` },
        { id: CAPTIONER, task: 'img2txt', source: `${FIXTURE_MODELS}plumbing-vit-gpt2-captioner` },
        { id: GPT2, task: 'txt2txt', source: `${FIXTURE_MODELS}plumbing-gpt2-tiny` },
        { id: T5, task: 'txt2txt', source: `${FIXTURE_MODELS}plumbing-t5-tiny` },
      ],
    });
    c = grpcClients(daemon.grpcPort!);
  });

  after(async () => {
    c?.close();
    await daemon?.stop();
  });

  const post = (model: string, body: unknown) =>
    fetch(`${daemon.api}/infer/${encodeURIComponent(model)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const infer = async (model: string, body: unknown): Promise<Answer> => {
    const res = await post(model, body);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Answer;
  };
  const batches = async (model: string): Promise<number> => {
    const families = parsePrometheus(await (await fetch(`${daemon.url}/metrics`)).text());
    try {
      return sampleValue(families, 'modelmora_batch_size_count', { model_id: model });
    } catch {
      return 0; // no batch yet: the series does not exist
    }
  };

  test('img2embed: the model dimension, unit norm, and a shifted or re-encoded picture is nearer than another picture', async () => {
    const circles = await renderScene('circles');
    const shifted = await renderScene('circles', { shift: 1, format: 'jpeg' });
    const stripes = await renderScene('stripes');
    const one = await infer(VIT, { input_data: { image: dataUrl(circles) } });
    assert.equal(one.output_data.embedding!.length, 32);
    const list = await infer(VIT, { input_data: { image: [circles.toString('base64'), shifted.toString('base64'), stripes.toString('base64')] } });
    const [a, b, other] = list.output_data.embeddings!;
    for (const v of [a!, b!, other!]) assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
    // A batch answers what a single request does, up to float rounding in onnxruntime's batched kernels.
    a!.forEach((x, i) => assert.ok(Math.abs(x - one.output_data.embedding![i]!) < 1e-5, `batched vs single at ${i}`));
    const same = dot(a!, b!);
    const different = dot(a!, other!);
    assert.ok(same > different + 0.05, `same picture ${same.toFixed(3)} vs different ${different.toFixed(3)}`);
    assert.ok(same > 0.95, `same picture cosine ${same}`);

    // gRPC bytes give the REST answer.
    const { response } = await c.call<{ output_data: { embedding: { values: number[] } } }>('inference', 'Infer', { model_id: VIT, input_data: { image: circles } });
    response.output_data.embedding.values.forEach((x, i) => assert.ok(Math.abs(x - one.output_data.embedding![i]!) < 1e-6));
  });

  test('img2txt captioning: deterministic text per picture, different pictures differ, batch equals single', async () => {
    const circles = (await renderScene('circles')).toString('base64');
    const stripes = (await renderScene('stripes')).toString('base64');
    const first = await infer(CAPTIONER, { input_data: { image: circles }, parameters: { max_tokens: 8 } });
    const again = await infer(CAPTIONER, { input_data: { image: circles }, parameters: { max_tokens: 8 } });
    const text = first.output_data.text!;
    assert.match(text, /^[a-z., ]+$/, text);
    assert.ok(text.split(' ').length >= 4, text);
    assert.equal(again.output_data.text, text);
    const both = await infer(CAPTIONER, { input_data: { image: [stripes, circles] }, parameters: { max_tokens: 8 } });
    assert.equal(both.output_data.texts![1], text);
    assert.notEqual(both.output_data.texts![0], text);
    const cut = await infer(CAPTIONER, { input_data: { image: circles }, parameters: { max_tokens: 8, stop: [text.split(' ')[2]!] } });
    assert.equal(cut.output_data.text, text.slice(0, text.indexOf(text.split(' ')[2]!)).trim());
  });

  test('txt2txt: a seed makes sampling deterministic; stream: true yields exactly the tokens of the unstreamed text', async () => {
    const body = (extra: Record<string, unknown> = {}) => ({ input_data: { text: 'Once upon a time' }, parameters: { max_tokens: 16, temperature: 0.9, seed: 7 }, ...extra });
    const a = (await infer(GPT2, body())).output_data.text!;
    const b = (await infer(GPT2, body())).output_data.text!;
    const other = (await infer(GPT2, { ...body(), parameters: { max_tokens: 16, temperature: 0.9, seed: 8 } })).output_data.text!;
    assert.equal(a, b);
    assert.notEqual(a, other);
    assert.ok(new Set(a.trim().split(/\s+/)).size >= 5, `a varied sequence: ${a}`);

    const res = await post(GPT2, body({ stream: true }));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = parseSse(await res.text());
    const tokens = events.filter(([e]) => e === 'token').map(([, d]) => (d as { token: string }).token);
    assert.equal(tokens.length, 16, 'one event per generated token');
    assert.equal(tokens.join(''), a);
    assert.deepEqual(events.at(-1)![0], 'done');
    assert.equal((events.at(-1)![1] as Answer).output_data.text, a);

    // A stop sequence cuts the text before it and the stream carries nothing past it.
    const stopWord = a.trim().split(/\s+/)[3]!;
    const stopped = await post(GPT2, body({ stream: true, parameters: { max_tokens: 16, temperature: 0.9, seed: 7, stop: [` ${stopWord}`] } }));
    const stopEvents = parseSse(await stopped.text());
    const expected = a.slice(0, a.indexOf(` ${stopWord}`));
    assert.equal(stopEvents.filter(([e]) => e === 'token').map(([, d]) => (d as { token: string }).token).join(''), expected);
    assert.equal((stopEvents.at(-1)![1] as Answer).output_data.text, expected);
  });

  test('txt2txt encoder-decoder (t5): seeded text, a list answers each prompt in order, stream: true yields its tokens', async () => {
    const parameters = { max_tokens: 10, temperature: 0.9, seed: 5 };
    const prompts = ['Once upon a time', 'hello world', 'the red cat sees a blue dog'];
    const singles: string[] = [];
    for (const text of prompts) singles.push((await infer(T5, { input_data: { text }, parameters })).output_data.text!);
    assert.equal(new Set(singles).size, prompts.length, `each prompt its own text: ${singles.join(' | ')}`);
    for (const text of singles) assert.match(text, /^[a-z., ]+$/, text);
    assert.equal((await infer(T5, { input_data: { text: prompts[0] }, parameters })).output_data.text, singles[0], 'same seed, same text');
    const list = await infer(T5, { input_data: { text: prompts }, parameters });
    assert.deepEqual(list.output_data.texts, singles);

    const res = await post(T5, { input_data: { text: prompts[1] }, parameters, stream: true });
    assert.equal(res.status, 200);
    const events = parseSse(await res.text());
    const tokens = events.filter(([e]) => e === 'token').map(([, d]) => (d as { token: string }).token);
    assert.equal(tokens.length, 10, 'one event per generated token');
    assert.equal(tokens.join(''), singles[1]);
    assert.equal((events.at(-1)![1] as Answer).output_data.text, singles[1]);
  });

  test('txt2txt over gRPC InferStream: token messages, then the final response with the same text', async () => {
    const request: Msg = { model_id: GPT2, input_data: { text: 'Once upon a time' }, request_id: 'r1', parameters: { fields: { max_tokens: { numberValue: 16 }, temperature: { numberValue: 0.9 }, seed: { numberValue: 7 } } } };
    const answers = await new Promise<Array<{ output_data: { text?: string; custom_data?: { fields: Record<string, { stringValue?: string }> } } }>>((resolve, reject) => {
      const call = (c.inference as unknown as { InferStream(): grpc.ClientDuplexStream<Msg, never> }).InferStream();
      const got: never[] = [];
      call.on('data', (m: never) => got.push(m));
      call.on('error', reject);
      call.on('status', () => resolve(got));
      call.write(request);
      call.end();
    });
    const tokens = answers.filter((m) => m.output_data.custom_data?.fields['stream']?.stringValue === 'token');
    assert.equal(tokens.length, 16);
    assert.equal(answers.length, 17);
    const final = answers.at(-1)!.output_data.text!;
    assert.equal(tokens.map((m) => m.output_data.text).join(''), final);
    assert.equal(final, (await infer(GPT2, { input_data: { text: 'Once upon a time' }, parameters: { max_tokens: 16, temperature: 0.9, seed: 7 } })).output_data.text);
  });

  test('txt2txt async job: progress reaches 100 and the result is the synchronous text', async () => {
    const body = { input_data: { text: 'hello world' }, parameters: { max_tokens: 12, temperature: 0.9, seed: 3 } };
    const accepted = await fetch(`${daemon.api}/infer/${encodeURIComponent(GPT2)}/async`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(accepted.status, 202);
    const { job_id } = (await accepted.json()) as { job_id: string };
    let job: { status: string; progress: number } = { status: 'queued', progress: 0 };
    for (let i = 0; i < 200 && (job.status === 'queued' || job.status === 'processing'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      job = (await (await fetch(`${daemon.api}/jobs/${job_id}`)).json()) as typeof job;
    }
    assert.equal(job.status, 'completed');
    assert.equal(job.progress, 100);
    const result = (await (await fetch(`${daemon.api}/jobs/${job_id}/result`)).json()) as Answer;
    assert.equal(result.output_data.text, (await infer(GPT2, body)).output_data.text);
  });

  test('a client that closes the event stream stops the generation (no finished batch is counted)', async () => {
    await infer(GPT2, { input_data: { text: 'warm up' }, parameters: { max_tokens: 2 } });
    const before = await batches(GPT2);
    const controller = new AbortController();
    const res = await fetch(`${daemon.api}/infer/${encodeURIComponent(GPT2)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input_data: { text: 'Once upon a time' }, parameters: { max_tokens: 1000 }, stream: true }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('event: token')) seen += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    // The runner is free again and answers the next request; the aborted run never completed.
    const next = await infer(GPT2, { input_data: { text: 'next' }, parameters: { max_tokens: 3 } });
    assert.ok(next.output_data.text!.length > 0);
    assert.equal(await batches(GPT2), before + 1, 'only the next request completed a batch');
  });

  test('every bad image input is refused (400/413, its error code) and no runner call happens', async () => {
    await infer(VIT, { input_data: { image: (await renderScene('circles', { size: 16 })).toString('base64') } });
    const before = await batches(VIT);
    assert.ok(before >= 1);
    const good = await renderScene('stripes');
    const jpeg = await renderScene('circles', { format: 'jpeg', size: 128 });
    const cases: Array<[string, unknown, number, string]> = [
      ['bad base64', 'not base64!', 400, 'INVALID_INPUT'],
      ['non-image MIME', dataUrl(good, 'text/plain'), 400, 'INVALID_INPUT'],
      ['not an image', Buffer.from('hello, not a picture').toString('base64'), 400, 'INVALID_INPUT'],
      ['20000x20000 PNG header', pngDeclaring(20000, 20000).toString('base64'), 400, 'INVALID_INPUT'],
      ['40000x50000 JPEG header', jpegDeclaring(40000, 50000).toString('base64'), 400, 'INVALID_INPUT'],
      ['truncated JPEG', jpeg.subarray(0, Math.floor(jpeg.length * 0.7)).toString('base64'), 400, 'INVALID_INPUT'],
      ['PNG header over garbage', Buffer.concat([good.subarray(0, 33), Buffer.alloc(64, 9)]).toString('base64'), 400, 'INVALID_INPUT'],
      ['text for an image model', undefined, 400, 'INVALID_INPUT'],
      ['batch over max_inputs', Array.from({ length: 33 }, () => good.toString('base64')), 413, 'BATCH_SIZE_EXCEEDED'],
    ];
    for (const [name, image, status, code] of cases) {
      const res = await post(VIT, image === undefined ? { input_data: { text: 'a picture' } } : { input_data: { image } });
      assert.equal(res.status, status, name);
      assert.equal(((await res.json()) as { error_code: string }).error_code, code, name);
    }
    const viaGrpc = await c.fail('inference', 'Infer', { model_id: VIT, input_data: { image: pngDeclaring(20000, 20000) } });
    assert.equal(viaGrpc.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(viaGrpc.trailers['error_code'], 'INVALID_INPUT');
    assert.equal(await batches(VIT), before, 'no bad input reached the runner');
  });
});
