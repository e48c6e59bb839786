/**
 * Writes the plumbing fixtures under test/fixtures/models/ (or --out DIR): tiny models with
 * seeded random weights, shaped so transformers.js v4 runs them unchanged, for the img2embed,
 * img2txt (captioning) and txt2txt tests. Deterministic: a rebuild leaves `git status` clean.
 *
 *   plumbing-vit-tiny             ViT-shaped image encoder        (image-feature-extraction)
 *   plumbing-vit-gpt2-captioner   ViT encoder + GPT-2 decoder     (image-to-text)
 *   plumbing-gpt2-tiny            one-layer GPT-2 with a KV cache (text-generation)
 *   plumbing-t5-tiny              T5-shaped encoder + decoder     (text2text-generation)
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { json } from './glove/tokenizer-files.js';
import { writeModelFolder, type ModelFiles } from './glove/embedding-model.js';
import { encodeOnnxModel } from './onnx/onnx-model.js';
import { buildByteBpe, byteBpeTokenizerConfigJson, byteBpeTokenizerJson, readableTokenIds } from './fixtures/byte-bpe-tokenizer.js';
import { decoderGraph } from './fixtures/decoder-graph.js';
import { plumbingCard } from './fixtures/plumbing-card.js';
import { textEncoderGraph } from './fixtures/text-encoder-graph.js';
import { buildUnigram, readableUnigramIds, unigramTokenizerConfigJson, unigramTokenizerJson } from './fixtures/unigram-tokenizer.js';
import { vitConfig, vitGraph, vitPreprocessorConfig, type VitSpec } from './fixtures/vit-graph.js';

/** Words the generators can emit, so outputs read as (meaningless) text. */
export const FIXTURE_WORDS = [
  'the', 'a', 'model', 'serving', 'cat', 'dog', 'red', 'blue', 'green', 'circle', 'stripe', 'picture', 'small', 'large',
  'runs', 'sees', 'makes', 'quiet', 'bright', 'river', 'stone', 'cloud', 'light', 'night', 'morning', 'token', 'stream',
  'batch', 'queue', 'runner', 'again', 'under', 'over', 'with', 'and', 'of', 'on', 'in', 'to', 'is', 'was', 'time',
  'upon', 'once', 'there', 'far', 'near', 'old', 'new', 'hello', 'world', 'plumbing', 'only',
];

const MAX_POSITIONS = 256;
const VIT: VitSpec = { imageSize: 32, patchSize: 8, hidden: 32, seed: 11 };

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function sorted(files: Map<string, Uint8Array>): ModelFiles {
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function tokenizerFiles() {
  const bpe = buildByteBpe(FIXTURE_WORDS);
  const readable = readableTokenIds(bpe, FIXTURE_WORDS);
  const banned = new Set(bpe.vocab.map((_t, id) => id).filter((id) => !readable.has(id)));
  return {
    bpe,
    banned,
    files: [
      ['tokenizer.json', text(byteBpeTokenizerJson(bpe))],
      ['tokenizer_config.json', text(byteBpeTokenizerConfigJson(MAX_POSITIONS))],
    ] as [string, Uint8Array][],
  };
}

function gpt2Config(vocabSize: number, hidden: number, eos: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: vocabSize,
    n_embd: hidden,
    n_head: 1,
    n_layer: 1,
    n_positions: MAX_POSITIONS,
    bos_token_id: eos,
    eos_token_id: eos,
    ...extra,
  };
}

export function buildVit(): ModelFiles {
  return sorted(new Map([
    ['README.md', text(plumbingCard({
      name: 'plumbing-vit-tiny', task: 'img2embed', pipeline: 'image-feature-extraction',
      what: `A ViT-shaped encoder: ${VIT.imageSize}x${VIT.imageSize} RGB in, ${VIT.hidden}-d vectors out (CLS = mean of ${(VIT.imageSize / VIT.patchSize) ** 2} linear patch features, no attention). Nearby pictures get nearby vectors, which is all the tests rely on.`,
      files: '`config.json` (model_type vit), `preprocessor_config.json`, `onnx/model.onnx`.',
    }))],
    ['config.json', text(json(vitConfig(VIT)))],
    ['onnx/model.onnx', encodeOnnxModel(vitGraph(VIT))],
    ['preprocessor_config.json', text(json(vitPreprocessorConfig(VIT.imageSize)))],
  ]));
}

export function buildGpt2(): ModelFiles {
  const tok = tokenizerFiles();
  const hidden = 32;
  const V = tok.bpe.vocab.length;
  const eos = tok.bpe.eosId;
  return sorted(new Map([
    ...tok.files,
    ['README.md', text(plumbingCard({
      name: 'plumbing-gpt2-tiny', task: 'txt2txt', pipeline: 'text-generation',
      what: `A one-layer, one-head GPT-2 (hidden ${hidden}, ${V} byte-level BPE tokens, a real KV cache) with random weights. Its logits are biased so it only ever emits a fixed list of English words, '.' and ',' (never <|endoftext|>): output is a varied, meaningless word salad that always runs to max_tokens, good for checking seeds, stop sequences and streaming.`,
      files: '`config.json` (model_type gpt2), `generation_config.json`, `tokenizer.json` and `tokenizer_config.json` (GPT2Tokenizer), `onnx/model.onnx`.',
    }))],
    ['config.json', text(json(gpt2Config(V, hidden, eos)))],
    ['generation_config.json', text(json({ bos_token_id: eos, eos_token_id: eos, max_length: MAX_POSITIONS }))],
    ['onnx/model.onnx', encodeOnnxModel(decoderGraph({ vocabSize: V, hidden, maxPositions: MAX_POSITIONS, banned: tok.banned, seed: 21, embeddingScale: 2 }))],
  ]));
}

export function buildCaptioner(): ModelFiles {
  const tok = tokenizerFiles();
  const hidden = 32;
  const V = tok.bpe.vocab.length;
  const eos = tok.bpe.eosId;
  const config = {
    model_type: 'vision-encoder-decoder',
    architectures: ['VisionEncoderDecoderModel'],
    is_encoder_decoder: true,
    encoder: vitConfig(VIT),
    decoder: gpt2Config(V, hidden, eos, { add_cross_attention: true, is_decoder: true }),
    decoder_start_token_id: eos,
    pad_token_id: eos,
    eos_token_id: eos,
  };
  return sorted(new Map([
    ...tok.files,
    ['README.md', text(plumbingCard({
      name: 'plumbing-vit-gpt2-captioner', task: 'img2txt (captioning)', pipeline: 'image-to-text',
      what: `A vision-encoder-decoder: the plumbing-vit-tiny encoder and a one-layer GPT-2 decoder (with a KV cache) that reads the mean of the encoder states. Greedy decoding gives each picture its own fixed word salad; different pictures give different text.`,
      files: '`config.json` (model_type vision-encoder-decoder), `generation_config.json`, `preprocessor_config.json`, tokenizer files, `onnx/encoder_model.onnx`, `onnx/decoder_model_merged.onnx`.',
    }))],
    ['config.json', text(json(config))],
    ['generation_config.json', text(json({ bos_token_id: eos, eos_token_id: eos, decoder_start_token_id: eos, pad_token_id: eos, max_length: 32 }))],
    ['onnx/decoder_model_merged.onnx', encodeOnnxModel(decoderGraph({ vocabSize: V, hidden, maxPositions: MAX_POSITIONS, encoderHidden: VIT.hidden, banned: tok.banned, seed: 31, embeddingScale: 2 }))],
    ['onnx/encoder_model.onnx', encodeOnnxModel(vitGraph(VIT))],
    ['preprocessor_config.json', text(json(vitPreprocessorConfig(VIT.imageSize)))],
  ]));
}

export function buildT5(): ModelFiles {
  const vocab = buildUnigram(FIXTURE_WORDS);
  const readable = readableUnigramIds(vocab, FIXTURE_WORDS);
  const banned = new Set(vocab.pieces.map((_p, id) => id).filter((id) => !readable.has(id)));
  const hidden = 32;
  const V = vocab.pieces.length;
  const ids = { decoder_start_token_id: vocab.padId, eos_token_id: vocab.eosId, pad_token_id: vocab.padId };
  const config = {
    model_type: 't5',
    architectures: ['T5ForConditionalGeneration'],
    is_encoder_decoder: true,
    vocab_size: V,
    d_model: hidden,
    d_kv: hidden,
    d_ff: hidden,
    num_layers: 1,
    num_decoder_layers: 1,
    num_heads: 1,
    n_positions: MAX_POSITIONS,
    tie_word_embeddings: false,
    ...ids,
  };
  return sorted(new Map([
    ['README.md', text(plumbingCard({
      name: 'plumbing-t5-tiny', task: 'txt2txt (encoder-decoder)', pipeline: 'text2text-generation',
      what: `A T5-shaped encoder-decoder (hidden ${hidden}, one head, ${V} SentencePiece-style Unigram pieces): a one-layer encoder (token + position embeddings, no attention) and a one-layer decoder with a real self-attention KV cache and cross-attention over the encoder states, in the input/output names of an optimum \`decoder_model_merged\` export (without its \`use_cache_branch\`). Its logits are biased so it only ever emits a fixed list of English words, '.' and ',' (never </s>): the output is a meaningless word salad that depends on the prompt and always runs to max_tokens.`,
      files: '`config.json` (model_type t5, is_encoder_decoder), `generation_config.json`, `tokenizer.json` (Unigram, appends </s>) and `tokenizer_config.json` (T5Tokenizer), `onnx/encoder_model.onnx`, `onnx/decoder_model_merged.onnx`.',
    }))],
    ['config.json', text(json(config))],
    ['generation_config.json', text(json({ ...ids, max_length: MAX_POSITIONS }))],
    ['onnx/decoder_model_merged.onnx', encodeOnnxModel(decoderGraph({ vocabSize: V, hidden, maxPositions: MAX_POSITIONS, encoderHidden: hidden, crossAttention: true, banned, seed: 41, embeddingScale: 2, logitScale: 1.5 }))],
    ['onnx/encoder_model.onnx', encodeOnnxModel(textEncoderGraph({ vocabSize: V, hidden, maxPositions: MAX_POSITIONS, seed: 43 }))],
    ['tokenizer.json', text(unigramTokenizerJson(vocab))],
    ['tokenizer_config.json', text(unigramTokenizerConfigJson(MAX_POSITIONS))],
  ]));
}

export const PLUMBING_MODELS: Record<string, () => ModelFiles> = {
  'plumbing-vit-tiny': buildVit,
  'plumbing-vit-gpt2-captioner': buildCaptioner,
  'plumbing-gpt2-tiny': buildGpt2,
  'plumbing-t5-tiny': buildT5,
};

function main(): void {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const root = outIndex >= 0 ? path.resolve(args[outIndex + 1]!) : fileURLToPath(new URL('../../test/fixtures/models/', import.meta.url));
  for (const [name, build] of Object.entries(PLUMBING_MODELS)) {
    const dir = path.join(root, name);
    rmSync(dir, { recursive: true, force: true });
    const files = build();
    writeModelFolder(dir, files);
    const bytes = [...files.values()].reduce((n, f) => n + f.length, 0);
    process.stdout.write(`${name}: ${files.size} files, ${(bytes / 1024).toFixed(0)} KiB\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
