import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGenerationOptions } from '../../../src/domain/generation-parameters.js';
import { TokenStream } from '../../../src/runtime/tasks/token-stream.js';

/** Feeds ids through a TokenStream whose "tokenizer" maps id i to pieces[i]; returns the pieces sent and the final text. */
function run(pieces: string[], stops: string[] = []) {
  const sent: string[] = [];
  const stream = new TokenStream((ids) => ids.map((id) => pieces[Number(id)]).join(''), stops, (piece) => piece && sent.push(piece));
  stream.put([[99n]]); // the prompt: skipped
  for (let i = 0; i < pieces.length && !stream.stopped; i++) stream.put([[BigInt(i)]]);
  stream.end();
  return { sent, final: stream.final(), stopped: stream.stopped };
}

test('pieces concatenate to the final text; a half character is held until it completes', () => {
  // "é" split over two byte tokens decodes to U+FFFD until its second half arrives.
  const decodeBytes = (ids: bigint[]) => Buffer.from(ids.map((id) => [0x61, 0xc3, 0xa9, 0x62][Number(id)]!)).toString('utf8');
  const sent: string[] = [];
  const stream = new TokenStream(decodeBytes, [], (piece) => piece && sent.push(piece));
  stream.put([[0n]]);
  for (const id of [0n, 1n, 2n, 3n]) stream.put([[id]]);
  stream.end();
  assert.deepEqual(sent, ['a', 'é', 'b']);
  assert.equal(stream.final(), 'aéb');
});

test('a stop sequence cuts the text before it; a possible start of one is held back', () => {
  const r = run([' once', ' upon', ' <', '/s', '> after'], ['</s>']);
  assert.equal(r.final, ' once upon ');
  assert.equal(r.sent.join(''), r.final);
  assert.equal(r.stopped, true);
  // A held-back "<" that turns out not to start a stop sequence is sent after all.
  const r2 = run([' a', ' <', 'b'], ['</s>']);
  assert.equal(r2.final, ' a <b');
  assert.deepEqual(r2.sent, [' a', ' ', '<b']);
  // Earliest stop wins, even inside one token.
  assert.equal(run(['xyENDab', 'STOP'], ['STOP', 'END']).final, 'xy');
});

test('generation parameters: defaults, greedy unless temperature > 0, and INVALID_INPUT for bad values', () => {
  const limits = { defaultMaxTokens: 64, maxTokensLimit: 256 };
  const greedy = parseGenerationOptions({}, limits);
  assert.equal(greedy.maxTokens, 64);
  assert.equal(greedy.doSample, false);
  const sampled = parseGenerationOptions({ max_tokens: 10, temperature: 0.7, top_k: 5, top_p: 0.9, seed: 42, stop: 'END' }, limits);
  assert.deepEqual(sampled, { maxTokens: 10, doSample: true, temperature: 0.7, topK: 5, topP: 0.9, seed: 42, stop: ['END'] });
  for (const bad of [{ max_tokens: 0 }, { max_tokens: 257 }, { temperature: -1 }, { top_p: 0 }, { top_k: 1.5 }, { seed: -1 }, { stop: [''] }, { stop: 3 }, { do_sample: 'yes' }]) {
    assert.throws(() => parseGenerationOptions(bad, limits), { code: 'INVALID_INPUT' }, JSON.stringify(bad));
  }
});
