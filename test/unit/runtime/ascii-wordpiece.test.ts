import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { AsciiWordPiece } from '../../../src/runtime/tasks/ascii-wordpiece.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const FIXTURES = path.join(ROOT, 'test/fixtures/models');
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

interface Case {
  json: Record<string, unknown>;
  config: Record<string, unknown>;
}

function load(folder: string): Case {
  return { json: readJson(path.join(folder, 'tokenizer.json')), config: readJson(path.join(folder, 'tokenizer_config.json')) };
}

/** glove-2k's tokenizer with WordPiece continuations added, so words split into pieces. */
function withPieces(base: Case, changes: { lowercase?: boolean; processor?: unknown } = {}): Case {
  const json = structuredClone(base.json) as { model: { vocab: Record<string, number> }; normalizer: Record<string, unknown>; post_processor?: unknown };
  let next = Math.max(...Object.values(json.model.vocab)) + 1;
  for (const piece of ['un', '##able', '##s', '##ing', 're', '##work', '##ed', 'Qu', '##ick', '##9', '4']) json.model.vocab[piece] ??= next++;
  if (changes.lowercase !== undefined) json.normalizer = { ...json.normalizer, lowercase: changes.lowercase };
  if (changes.processor !== undefined) json.post_processor = changes.processor;
  return { json, config: base.config };
}

/** Random ASCII texts: vocabulary words, pieces, unknown strings, case, digits, punctuation, spacing. */
function texts(vocabWords: readonly string[], count: number): string[] {
  let state = 12345;
  const next = (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const punctuation = '!"#$%&\'()*+,-./:;<=>?@\\]^_`{|}~';
  const spaces = [' ', ' ', ' ', '  ', '\t', '\n', '\r\n'];
  const word = (): string => {
    switch (next(8)) {
      case 0:
        return Array.from({ length: 1 + next(14) }, () => letters[next(letters.length)]).join('');
      case 1:
        return punctuation[next(punctuation.length)]!;
      case 2:
        return `${vocabWords[next(vocabWords.length)]}${['s', 'ing', 'able', 'ed', 'work'][next(5)]}`;
      case 3:
        return vocabWords[next(vocabWords.length)]!.toUpperCase();
      case 4:
        return 'x'.repeat(95 + next(10));
      default:
        return vocabWords[next(vocabWords.length)]!;
    }
  };
  return Array.from({ length: count }, () => Array.from({ length: next(12) }, () => word() + spaces[next(spaces.length)]).join(''));
}

function assertSameAsLibrary(c: Case, count = 2000): void {
  const tokenizer = new Tokenizer(c.json, c.config);
  const fast = AsciiWordPiece.from(c.json, c.config, tokenizer);
  assert.ok(fast, 'a plain BERT tokenizer gets the fast path');
  const words = Object.keys((c.json.model as { vocab: Record<string, number> }).vocab).filter((w) => /^[a-z0-9]+$/i.test(w));
  for (const text of texts(words, count)) {
    assert.deepEqual(fast.encode(text), tokenizer.encode(text).ids, JSON.stringify(text));
  }
}

describe('AsciiWordPiece', () => {
  const glove = load(path.join(FIXTURES, 'glove-2k'));

  it('gives the library’s ids on the demo model’s 50k-word tokenizer', () => assertSameAsLibrary(load(path.join(ROOT, 'models/glove-demo')), 1000));
  it('gives the library’s ids on a lowercasing tokenizer with WordPiece continuations', () => assertSameAsLibrary(withPieces(glove)));
  it('gives the library’s ids on a cased tokenizer', () => assertSameAsLibrary(withPieces(glove, { lowercase: false })));
  it('gives the library’s ids with BertProcessing and with no post-processor', () => {
    assertSameAsLibrary(withPieces(glove, { processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] } }), 300);
    assertSameAsLibrary(withPieces(glove, { processor: null }), 300);
  });

  it('leaves to the library any text with other characters or a possible added token', () => {
    const tokenizer = new Tokenizer(glove.json, glove.config);
    const fast = AsciiWordPiece.from(glove.json, glove.config, tokenizer)!;
    for (const text of ['café', 'naïve', '東京', 'a\u0000b', 'tab\u000bhere', '[CLS] hello', 'see [1]', '🙂']) assert.equal(fast.encode(text), undefined, text);
  });

  it('is not used for other pipelines: Unigram, byte-level BPE, added tokens that are not [SPECIAL]', () => {
    for (const model of ['plumbing-t5-tiny', 'plumbing-gpt2-tiny']) {
      const c = load(path.join(FIXTURES, model));
      assert.equal(AsciiWordPiece.from(c.json, c.config, new Tokenizer(c.json, c.config)), undefined, model);
    }
    const json = structuredClone(glove.json) as { added_tokens: unknown[] };
    json.added_tokens.push({ id: 5, content: 'hello', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false });
    assert.equal(AsciiWordPiece.from(json, glove.config, new Tokenizer(json, glove.config)), undefined);
  });
});
