import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALWAYS_INCLUDE, chooseWords, isSinglePreToken, normalizeLikeBert } from '../../../scripts/glove/vocabulary.js';

test('normalises like BertNormalizer with lowercase: accents stripped, lower case', () => {
  assert.equal(normalizeLikeBert('Café'), 'cafe');
  assert.equal(normalizeLikeBert('NAÏVE'), 'naive');
  assert.equal(normalizeLikeBert('straße'), 'straße');
});

test('keeps only words the BERT pre-tokenizer hands over whole', () => {
  for (const word of ['the', '1990', 'naive', ',', '$', '"', '中']) assert.equal(isSinglePreToken(word), true, word);
  for (const word of ['u.s.', 'cross-country', "don't", 'us$', 'a b', '中国', '', 'x'.repeat(101)]) {
    assert.equal(isSinglePreToken(word), false, word);
  }
});

test('takes the N most frequent usable words, then the always-include words found further down', () => {
  const source = ['the', 'u.s.', ',', 'of', 'café', 'cafe', 'zebra', 'kitten', 'steeply', 'quokka'];
  const chosen = chooseWords(source, 4);
  // 'u.s.' is unusable; 'cafe' duplicates the more frequent 'café'; 'zebra' and 'quokka' are
  // past the top 4 and not in the always-include list; 'kitten' and 'steeply' are.
  assert.deepEqual(chosen, ['the', ',', 'of', 'café', 'kitten', 'steeply']);
  assert.deepEqual(chooseWords(source, 4, ['quokka']), ['the', ',', 'of', 'café', 'kitten', 'steeply', 'quokka']);
});

test('the always-include list holds the test sentences and only usable lowercase words', () => {
  for (const word of 'stock markets fell sharply shares dropped steeply a kitten sleeps on the sofa'.split(' ')) {
    assert.ok(ALWAYS_INCLUDE.includes(word), word);
  }
  for (const word of ALWAYS_INCLUDE) {
    assert.equal(normalizeLikeBert(word), word);
    assert.equal(isSinglePreToken(word), true, word);
  }
});
