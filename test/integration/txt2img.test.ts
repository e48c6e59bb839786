import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { InferenceProgress } from '../../src/domain/engine.js';
import { ModelMoraError } from '../../src/domain/errors.js';
import type { ItemOutput } from '../../src/domain/inference.js';
import type { RunnerHandle, RunnerProgress } from '../../src/domain/runner.js';
import { createRunnerFactory } from '../../src/runtime/runner-client.js';
import { ServingEngine } from '../../src/scheduler/engine.js';
import { FIXTURE_MODELS, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { removeDir, tempDir } from '../support/fixtures.js';

// Real runner processes and a real daemon on the PLUMBING-ONLY diffusion fixture
// (tiny seeded-random graphs in the Hugging Face ONNX layout; see its README).
const FIXTURE = path.join(FIXTURE_MODELS, 'plumbing-sd-tiny');
const factory = createRunnerFactory();

type Image = Extract<ItemOutput, { kind: 'image' }>;

async function generate(runner: RunnerHandle, prompts: string[], parameters: Record<string, unknown>, onProgress?: (e: RunnerProgress) => void): Promise<Image[]> {
  const result = await runner.run({ items: prompts.map((text) => ({ kind: 'text', text })), parameters }, undefined, onProgress);
  return result.outputs.map((output) => {
    assert.equal(output.kind, 'image');
    return output;
  });
}

/** Decodes with sharp (libvips): proves the bytes are a PNG of that size. */
async function decodePng(png: Uint8Array): Promise<{ width: number; height: number; channels: number; pixels: Buffer }> {
  assert.deepEqual(Array.from(png.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, pixels: data };
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('txt2img runner on plumbing-sd-tiny (plumbing only)', () => {
  let euler: RunnerHandle;
  let ddim: RunnerHandle;
  const dirs: string[] = [];
  before(async () => {
    euler = await factory({ modelId: 'test/plumbing-sd-tiny', taskType: 'txt2img', folder: FIXTURE, config: {} });
    // DDIM by swapping the scheduler config in a copy of the model, as a repo shipping DDIM would.
    const copy = await tempDir();
    dirs.push(copy);
    cpSync(FIXTURE, copy, { recursive: true });
    const file = path.join(copy, 'scheduler', 'scheduler_config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...config, _class_name: 'DDIMScheduler', clip_sample: false }));
    ddim = await factory({ modelId: 'test/plumbing-sd-ddim', taskType: 'txt2img', folder: copy, config: {} });
  });
  after(async () => {
    await euler?.stop();
    await ddim?.stop();
    for (const dir of dirs) await removeDir(dir);
  });

  test('returns a PNG of the requested size: 64x64 and 32x48 (width x height), RGB', async () => {
    for (const [width, height] of [[64, 64], [32, 48]] as const) {
      const [image] = await generate(euler, ['a photo of a cat'], { width, height, steps: 4, seed: 1 });
      assert.equal(image!.width, width);
      assert.equal(image!.height, height);
      const decoded = await decodePng(image!.png);
      assert.deepEqual([decoded.width, decoded.height, decoded.channels], [width, height, 3]);
      // Not a flat image: the pixels vary (the fixture draws 8x8 coloured patches).
      assert.ok(new Set(decoded.pixels).size > 50);
    }
  });

  test('without a size it uses the model native size (unet sample_size 8 -> 64x64)', async () => {
    const [image] = await generate(euler, ['a red dog'], { steps: 2, seed: 3 });
    assert.deepEqual([image!.width, image!.height], [64, 64]);
  });

  test('same seed gives identical bytes; another seed, prompt, negative prompt or guidance gives another image', async () => {
    const base = { width: 64, height: 64, steps: 4, seed: 1234, guidance_scale: 7.5 };
    const [a] = await generate(euler, ['a photo of a cat'], base);
    const [b] = await generate(euler, ['a photo of a cat'], base);
    assert.ok(same(a!.png, b!.png), 'same seed, same PNG bytes');
    const others = [
      await generate(euler, ['a photo of a cat'], { ...base, seed: 1235 }),
      await generate(euler, ['a photo of a dog'], base),
      await generate(euler, ['a photo of a cat'], { ...base, negative_prompt: 'blue sky' }),
      await generate(euler, ['a photo of a cat'], { ...base, guidance_scale: 1 }),
    ];
    for (const [other] of others) assert.ok(!same(a!.png, other!.png));
  });

  test('a batch of prompts (one unet batch per step) gives the same images as one at a time', async () => {
    const parameters = { width: 32, height: 32, steps: 3, seed: 99 };
    const batch = await generate(euler, ['a photo of a cat', 'a red dog over the mountains', 'sunset'], parameters);
    assert.equal(batch.length, 3);
    for (const [i, prompt] of ['a photo of a cat', 'a red dog over the mountains', 'sunset'].entries()) {
      const [single] = await generate(euler, [prompt], parameters);
      assert.ok(same(batch[i]!.png, single!.png), `item ${i}`);
    }
  });

  test('Euler and DDIM both run, deterministic each, and differ from each other', async () => {
    const parameters = { width: 64, height: 64, steps: 5, seed: 7 };
    const [e1] = await generate(euler, ['a beautiful sunset'], parameters);
    const [d1] = await generate(ddim, ['a beautiful sunset'], parameters);
    const [d2] = await generate(ddim, ['a beautiful sunset'], parameters);
    assert.ok(same(d1!.png, d2!.png));
    assert.ok(!same(e1!.png, d1!.png));
    const decoded = await decodePng(d1!.png);
    assert.deepEqual([decoded.width, decoded.height], [64, 64]);
  });

  test('progress: one event per step and item, steps 1..N, progress step/N*100', async () => {
    const events: RunnerProgress[] = [];
    await generate(euler, ['a cat', 'a dog'], { width: 32, height: 32, steps: 6, seed: 1 }, (e) => events.push(e));
    for (const item of [0, 1]) {
      const mine = events.filter((e) => e.item === item);
      assert.deepEqual(mine.map((e) => e.step), [1, 2, 3, 4, 5, 6]);
      assert.ok(mine.every((e) => e.totalSteps === 6 && Math.abs(e.progress! - (e.step! / 6) * 100) < 1e-9));
    }
  });

  test('bad parameters reaching a runner are INVALID_INPUT (the API checks them first)', async () => {
    for (const parameters of [{ width: 60 }, { height: 0 }, { width: 4096 }, { steps: 0 }, { seed: 1.5 }]) {
      await assert.rejects(
        generate(euler, ['a cat'], parameters),
        (err) => err instanceof ModelMoraError && err.code === 'INVALID_INPUT',
        JSON.stringify(parameters),
      );
    }
    // The runner is still healthy afterwards.
    const [ok] = await generate(euler, ['a cat'], { width: 16, height: 16, steps: 1, seed: 1 });
    assert.equal(ok!.width, 16);
  });

  test('a model that does not have the layout fails to load with MODEL_LOAD_FAILED and no absolute path', async () => {
    const empty = await tempDir();
    dirs.push(empty);
    await assert.rejects(
      factory({ modelId: 'test/empty', taskType: 'txt2img', folder: empty, config: {} }),
      (err) => err instanceof ModelMoraError && err.code === 'MODEL_LOAD_FAILED' && /text_encoder\/model\.onnx is missing/.test(err.message) && !err.message.includes(empty),
    );
  });
});

describe('txt2img progress through the serving engine (real runner)', () => {
  let engine: ServingEngine;
  before(() => {
    engine = new ServingEngine({
      config: { memory_budget_mb: 4000, keep_alive: 60_000, max_queue_size: 16, max_batch_size: 4, max_delay_ms: 2, priority_aging_ms: 0 },
      runnerFactory: factory,
      lookup: async (modelId) => ({ load: { modelId, taskType: 'txt2img', folder: FIXTURE, config: {} }, declaredMemoryMb: 200 }),
    });
  });
  after(async () => {
    await engine.drain(5000);
  });

  test('the caller receives steps 1..N for its item', async () => {
    const events: InferenceProgress[] = [];
    const result = await engine.infer(
      { modelId: 'test/sd', items: [{ kind: 'text', text: 'a cat' }], batched: false, parameters: { steps: 4, seed: 5, width: 32, height: 32 }, priority: 'low', timeoutSeconds: 60 },
      { onProgress: (e) => events.push(e) },
    );
    assert.equal(result.outputs[0]?.kind, 'image');
    assert.deepEqual(events.map((e) => [e.itemIndex, e.step, e.totalSteps, e.progress]), [
      [0, 1, 4, 25],
      [0, 2, 4, 50],
      [0, 3, 4, 75],
      [0, 4, 4, 100],
    ]);
  });
});

describe('txt2img through a real daemon (REST)', () => {
  let daemon: DaemonProcess;
  before(async () => {
    daemon = await startDaemon({
      models: [{ id: 'test/plumbing-sd-tiny', task: 'txt2img', source: FIXTURE }],
      // 64x64 fixture PNGs are ~8 KiB; 512x512 ones far above 16 KiB.
      server: { inline_image_max_kb: 16 },
    });
  });
  after(async () => {
    await daemon?.stop();
  });

  const infer = (body: unknown) =>
    fetch(`${daemon.api}/infer/${encodeURIComponent('test/plumbing-sd-tiny')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  test('bad width -> 400 INVALID_INPUT before any runner starts', async () => {
    for (const parameters of [{ width: 65 }, { width: 0 }, { width: 4096 }, { height: 12 }]) {
      const res = await infer({ input_data: { text: 'a cat' }, parameters });
      assert.equal(res.status, 400, JSON.stringify(parameters));
      const body = (await res.json()) as { error_code: string; message: string };
      assert.equal(body.error_code, 'INVALID_INPUT');
      assert.match(body.message, /parameters\.(width|height)/);
    }
    assert.deepEqual(await daemon.runnerPids(), []);
  });

  test('a small image comes back inline as image_base64, identical for the same seed', async () => {
    const body = { input_data: { text: 'a photo of a cat' }, parameters: { width: 64, height: 64, steps: 4, seed: 11 } };
    const first = (await (await infer(body)).json()) as { output_data: { image_base64?: string; image_url?: string } };
    const second = (await (await infer(body)).json()) as { output_data: { image_base64?: string } };
    assert.ok(first.output_data.image_base64, JSON.stringify(first));
    assert.equal(first.output_data.image_url, undefined);
    assert.equal(first.output_data.image_base64, second.output_data.image_base64);
    const decoded = await decodePng(Buffer.from(first.output_data.image_base64, 'base64'));
    assert.deepEqual([decoded.width, decoded.height], [64, 64]);
  });

  test('a large image comes back as image_url; GET returns the PNG (image/png); unknown ids are 404', async () => {
    const body = { input_data: { text: 'a photo of a cat' }, parameters: { width: 512, height: 512, steps: 2, seed: 11 } };
    const res = await infer(body);
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { output_data: { image_base64?: string; image_url?: string } };
    assert.equal(answer.output_data.image_base64, undefined);
    const url = answer.output_data.image_url!;
    assert.match(url, new RegExp(`^${daemon.api}/artifacts/[0-9a-f-]{36}$`));
    const got = await fetch(url);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'image/png');
    const png = new Uint8Array(await got.arrayBuffer());
    const decoded = await decodePng(png);
    assert.deepEqual([decoded.width, decoded.height, decoded.channels], [512, 512, 3]);
    // Artifacts are named by content: the same seed again gives the same URL; another seed another one.
    const again = (await (await infer(body)).json()) as { output_data: { image_url: string } };
    assert.equal(again.output_data.image_url, url);
    const other = (await (await infer({ ...body, parameters: { ...body.parameters, seed: 12 } })).json()) as { output_data: { image_url: string } };
    assert.notEqual(other.output_data.image_url, url);
    const otherPng = new Uint8Array(await (await fetch(other.output_data.image_url)).arrayBuffer());
    assert.ok(!same(otherPng, png));
    assert.deepEqual(Object.values(await decodePng(otherPng)).slice(0, 2), [512, 512]);

    // The same request as an async job (the document's §6.1 flow): its result carries the same image_url.
    const submitted = await fetch(`${daemon.api}/infer/${encodeURIComponent('test/plumbing-sd-tiny')}/async`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(submitted.status, 202);
    const { job_id } = (await submitted.json()) as { job_id: string };
    let job: { output_data?: { image_base64?: string; image_url?: string } } = {};
    for (let i = 0; i < 600; i++) {
      const res = await fetch(`${daemon.api}/jobs/${job_id}/result`);
      job = (await res.json()) as typeof job;
      if (res.status !== 409) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(job.output_data?.image_base64, undefined, JSON.stringify(job).slice(0, 200));
    assert.equal(job.output_data?.image_url, url);

    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', '..%2F..%2Fregistry.json']) {
      const missing = await fetch(`${daemon.api}/artifacts/${id}`);
      assert.equal(missing.status, 404, id);
      assert.equal(((await missing.json()) as { error_code: string }).error_code, 'NOT_FOUND');
    }
  });
});
