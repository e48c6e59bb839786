import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ModelMoraError, type ErrorCode } from '../../src/domain/errors.js';
import type { LoadSpec, RunnerHandle } from '../../src/domain/runner.js';
import { createRunnerFactory } from '../../src/runtime/runner-client.js';

// Real runner processes on a real (small) GloVe-based BERT-shaped model.
const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/models/glove-2k', import.meta.url));
const CLIENT_MODULE = fileURLToPath(new URL('../../src/runtime/runner-client.js', import.meta.url));
const factory = createRunnerFactory();

function spec(config: Record<string, unknown> = {}, folder = FIXTURE): LoadSpec {
  return { modelId: 'test/glove-2k', taskType: 'txt2embed', folder, config };
}

async function embed(runner: RunnerHandle, texts: string[], parameters: Record<string, unknown> = {}): Promise<Float32Array[]> {
  const result = await runner.run({ items: texts.map((text) => ({ kind: 'text', text })), parameters });
  assert.equal(result.outputs.length, texts.length);
  return result.outputs.map((output) => {
    assert.equal(output.kind, 'embedding');
    assert.ok(output.embedding instanceof Float32Array, 'embeddings cross IPC as Float32Array');
    return output.embedding;
  });
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const cosine = (a: Float32Array, b: Float32Array) => dot(a, b) / (norm(a) * norm(b));
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

function isCode(code: ErrorCode) {
  return (err: unknown) => err instanceof ModelMoraError && err.code === code;
}

/** No absolute path (Unix or Windows) anywhere in a user-facing text. */
function assertNoAbsolutePath(text: string): void {
  assert.doesNotMatch(text, /(^|[\s"'`(=:])([A-Za-z]:)?[\\/][A-Za-z0-9._-]/, text);
  assert.ok(!text.includes(os.tmpdir()), text);
}

/** Deterministic sentences of 1..12 words from a small everyday vocabulary. */
function sentences(count: number): string[] {
  const words = 'the market city water people house music river stock price school child government world night money food game power light'.split(' ');
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + (next() % 12) }, () => words[next() % words.length]).join(' '),
  );
}

describe('txt2embed runner on glove-2k', () => {
  let runner: RunnerHandle;
  before(async () => {
    runner = await factory(spec({ pooling: 'mean', normalize: true }));
  });
  after(async () => {
    await runner?.stop();
  });

  test('gives one 100-d unit vector per text', async () => {
    const [a, b] = await embed(runner, ['stock markets fell sharply', 'a kitten sleeps on the sofa']);
    assert.equal(a!.length, 100);
    assert.equal(b!.length, 100);
    assert.ok(Math.abs(norm(a!) - 1) < 1e-5, `norm ${norm(a!)}`);
    assert.ok(Math.abs(norm(b!) - 1) < 1e-5, `norm ${norm(b!)}`);
  });

  test('similar sentences are closer than unrelated ones', async () => {
    const [fell, dropped, kitten] = await embed(runner, [
      'stock markets fell sharply',
      'shares dropped steeply',
      'a kitten sleeps on the sofa',
    ]);
    const near = cosine(fell!, dropped!);
    assert.ok(near > cosine(fell!, kitten!), `${near} vs ${cosine(fell!, kitten!)}`);
    assert.ok(near > cosine(dropped!, kitten!), `${near} vs ${cosine(dropped!, kitten!)}`);
  });

  test('a padded batch of 64 equals 64 single calls, in input order', async () => {
    const texts = sentences(64);
    const batch = await embed(runner, texts);
    const singles: Float32Array[] = [];
    for (const text of texts) singles.push((await embed(runner, [text]))[0]!);
    let worst = 0;
    for (let i = 0; i < texts.length; i++) worst = Math.max(worst, maxAbsDiff(batch[i]!, singles[i]!));
    assert.ok(worst < 1e-5, `max abs diff ${worst}`);
    // Order matters only if the vectors differ: the texts of different lengths must not collide.
    assert.ok(maxAbsDiff(batch[0]!, batch[1]!) > 1e-3);
  });

  test('parameters.normalize=false returns the raw mean, a non-unit vector in the same direction', async () => {
    const text = 'stock markets fell sharply';
    const [unit] = await embed(runner, [text]);
    const [raw] = await embed(runner, [text], { normalize: false });
    assert.ok(Math.abs(norm(raw!) - 1) > 0.1, `norm ${norm(raw!)}`);
    const scaled = raw!.map((x) => x / norm(raw!));
    assert.ok(maxAbsDiff(scaled, unit!) < 1e-5);
  });

  test('a non-text item is INVALID_INPUT and the runner stays healthy', async () => {
    await assert.rejects(
      runner.run({ items: [{ kind: 'image', image: new Uint8Array([1, 2, 3]) }], parameters: {} }),
      isCode('INVALID_INPUT'),
    );
    await assert.rejects(runner.run({ items: [{ kind: 'text', text: 'x' }], parameters: { normalize: 'yes' } }), isCode('INVALID_INPUT'));
    assert.equal((await embed(runner, ['still working'])).length, 1);
  });

  test('an aborted run rejects with CANCELLED and later runs still work', async () => {
    const controller = new AbortController();
    const pending = runner.run({ items: sentences(64).map((text) => ({ kind: 'text', text })), parameters: {} }, controller.signal);
    controller.abort();
    await assert.rejects(pending, isCode('CANCELLED'));
    const already = AbortSignal.abort();
    await assert.rejects(runner.run({ items: [{ kind: 'text', text: 'x' }], parameters: {} }, already), isCode('CANCELLED'));
    assert.equal((await embed(runner, ['after cancel'])).length, 1);
  });

  test('rssBytes reports the runner process memory', async () => {
    const rss = await runner.rssBytes();
    assert.ok(rss > 10 * 1024 * 1024, `rss ${rss}`);
    assert.ok(rss < 2 * 1024 * 1024 * 1024, `rss ${rss}`);
  });
});

describe('txt2embed config', () => {
  const runners: RunnerHandle[] = [];
  after(async () => {
    await Promise.all(runners.map((r) => r.stop()));
  });

  test('cls pooling differs from mean pooling', async () => {
    const mean = await factory(spec({ pooling: 'mean' }));
    const cls = await factory(spec({ pooling: 'cls' }));
    runners.push(mean, cls);
    const text = 'people buy food at the market';
    const [m] = await embed(mean, [text], { normalize: false });
    const [c] = await embed(cls, [text], { normalize: false });
    assert.ok(maxAbsDiff(m!, c!) > 1e-3, `diff ${maxAbsDiff(m!, c!)}`);
  });

  test('max_length truncates: only the first tokens count', async () => {
    // max_length 4 keeps [CLS] and the first three words.
    const short = await factory(spec({ max_length: 4 }));
    const full = await factory(spec());
    runners.push(short, full);
    const text = 'music school government world night';
    const [truncated] = await embed(short, [text]);
    const [whole] = await embed(full, [text]);
    const [firstWords] = await embed(full, ['music school government']);
    assert.ok(maxAbsDiff(truncated!, firstWords!) < 1e-6, `diff ${maxAbsDiff(truncated!, firstWords!)}`);
    assert.ok(maxAbsDiff(truncated!, whole!) > 1e-3);
  });

  test('a bad config value fails the load', async () => {
    await assert.rejects(factory(spec({ pooling: 'max' })), isCode('MODEL_LOAD_FAILED'));
  });
});

describe('runner failures', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'modelmora-runner-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('a corrupt model.onnx is MODEL_LOAD_FAILED without an absolute path', async () => {
    const folder = path.join(tmp, 'corrupt');
    cpSync(FIXTURE, folder, { recursive: true });
    rmSync(path.join(folder, 'onnx'), { recursive: true, force: true });
    mkdirSync(path.join(folder, 'onnx'));
    writeFileSync(path.join(folder, 'onnx', 'model.onnx'), Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    const err = await factory(spec({}, folder)).then(
      () => assert.fail('loaded a corrupt model'),
      (e: unknown) => e,
    );
    assert.ok(isCode('MODEL_LOAD_FAILED')(err), String(err));
    assertNoAbsolutePath((err as Error).message);
  });

  test('a missing folder is MODEL_LOAD_FAILED without an absolute path', async () => {
    const err = await factory(spec({}, path.join(tmp, 'missing'))).then(
      () => assert.fail('loaded a missing model'),
      (e: unknown) => e,
    );
    assert.ok(isCode('MODEL_LOAD_FAILED')(err), String(err));
    assertNoAbsolutePath((err as Error).message);
  });

  test('a folder without model files is MODEL_LOAD_FAILED without an absolute path', async () => {
    const folder = path.join(tmp, 'empty');
    mkdirSync(folder);
    const err = await factory(spec({}, folder)).then(
      () => assert.fail('loaded an empty folder'),
      (e: unknown) => e,
    );
    assert.ok(isCode('MODEL_LOAD_FAILED')(err), String(err));
    assertNoAbsolutePath((err as Error).message);
  });

  test('a task type without a handler is MODEL_LOAD_FAILED', async () => {
    // Every API task type has a handler now; a spec from a newer daemon could still name another.
    await assert.rejects(factory({ ...spec(), taskType: 'txt2video' as LoadSpec['taskType'] }), (err: unknown) => {
      assert.ok(isCode('MODEL_LOAD_FAILED')(err), String(err));
      assert.match((err as Error).message, /txt2video/);
      return true;
    });
  });

  test('a runner entry that cannot start is PROCESS_SPAWN_FAILED', async () => {
    const broken = createRunnerFactory({ entry: path.join(tmp, 'no-such-entry.js') });
    await assert.rejects(broken(spec()), (err: unknown) => {
      assert.ok(isCode('PROCESS_SPAWN_FAILED')(err), String(err));
      assertNoAbsolutePath((err as Error).message);
      return true;
    });
  });

  test('SIGKILL mid-run rejects the run with UNHEALTHY_MODEL and refuses further runs', async () => {
    const runner = await factory(spec());
    try {
      const texts = sentences(256).map((text) => ({ kind: 'text' as const, text: `${text} ${text} ${text}` }));
      const inFlight = runner.run({ items: texts, parameters: {} });
      process.kill(runner.pid!, 'SIGKILL');
      await assert.rejects(inFlight, (err: unknown) => {
        assert.ok(isCode('UNHEALTHY_MODEL')(err), String(err));
        assert.match((err as Error).message, /signal SIGKILL/);
        return true;
      });
      assert.deepEqual(await runner.exited, { code: null, signal: 'SIGKILL' });
      await assert.rejects(runner.run({ items: [{ kind: 'text', text: 'x' }], parameters: {} }), isCode('UNHEALTHY_MODEL'));
      assert.equal(await runner.rssBytes(), 0);
    } finally {
      await runner.stop();
    }
  });

  test('stop() ends the process gracefully and later runs are refused', async () => {
    const runner = await factory(spec());
    const pid = runner.pid!;
    assert.ok(!processGone(pid));
    await runner.stop();
    assert.throws(() => process.kill(pid, 0));
    assert.deepEqual(await runner.exited, { code: 0, signal: null });
    await assert.rejects(runner.run({ items: [{ kind: 'text', text: 'x' }], parameters: {} }), isCode('MODEL_NOT_LOADED'));
    await runner.stop(); // idempotent
  });

  test('a runner whose parent dies exits instead of lingering', async () => {
    const script = `
      const { createRunnerFactory } = await import(${JSON.stringify(CLIENT_MODULE)});
      const runner = await createRunnerFactory()(${JSON.stringify(spec())});
      process.stdout.write(String(runner.pid) + '\\n');
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let pid = 0;
    try {
      pid = await new Promise<number>((resolve, reject) => {
        parent.stdout.setEncoding('utf8');
        parent.stdout.once('data', (line: string) => resolve(Number(line.trim())));
        parent.once('exit', () => reject(new Error('parent exited before loading the runner')));
      });
      assert.ok(pid > 0 && !processGone(pid));
      parent.kill('SIGKILL');
      let gone = false;
      for (let i = 0; i < 100 && !gone; i++) {
        await sleep(50);
        gone = processGone(pid);
      }
      assert.ok(gone, `runner ${pid} outlived its parent`);
    } finally {
      parent.kill('SIGKILL');
      if (pid > 0 && !processGone(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
import { processGone } from '../support/process-gone.js';
