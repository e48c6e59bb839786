import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelMoraError } from '../../domain/errors.js';
import { AsciiWordPiece } from './ascii-wordpiece.js';

/** A batch of texts as the graph's int64 inputs: row-major [texts, tokens]. */
export interface TokenBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  dims: [number, number];
}

/**
 * The model's tokenizer.json through @huggingface/tokenizers, the library transformers.js itself
 * wraps, with the same batching rules as transformers.js' `tokenizer(texts, { padding: true,
 * truncation: true, max_length })`: special tokens added, each text cut to the length limit,
 * the batch padded to its longest text with the pad token (mask 0). Used without the rest of
 * transformers.js, whose import alone costs a runner about 24 MB and 200 ms.
 */
export class TextTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    /** model_max_length from tokenizer_config.json; Infinity when absent. */
    private readonly modelMaxLength: number,
    private readonly padId: number,
    private readonly padLeft: boolean,
    /** The same ids for plain ASCII text, several times faster (undefined: not a plain BERT tokenizer). */
    private readonly fast: AsciiWordPiece | undefined,
  ) {}

  static async load(folder: string): Promise<TextTokenizer> {
    const [json, config] = await Promise.all([readJson(folder, 'tokenizer.json', true), readJson(folder, 'tokenizer_config.json', false)]);
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json, config);
    } catch (err) {
      throw new ModelMoraError('MODEL_LOAD_FAILED', `tokenizer.json could not be read: ${(err as Error).message}`);
    }
    // The library copies the vocabulary into its own Map at construction and keeps the parsed
    // JSON only by reference; the vocab object (a 50k-key dictionary: 3 MB for the demo model)
    // is never read again, so it is let go rather than held for the runner's lifetime.
    dropVocab(json);
    const maxLength = typeof config.model_max_length === 'number' && config.model_max_length > 0 ? config.model_max_length : Infinity;
    const padToken = tokenText(config.pad_token) ?? tokenText(config.eos_token);
    const padId = (padToken === undefined ? undefined : tokenizer.token_to_id(padToken)) ?? 0;
    // transformers.js pads on the right except for the Llama tokenizer class, unless the config says.
    const tokenizerClass = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
    const side = config.padding_side ?? (tokenizerClass === 'LlamaTokenizer' ? 'left' : 'right');
    return new TextTokenizer(tokenizer, maxLength, padId, side === 'left', AsciiWordPiece.from(json, config, tokenizer));
  }

  /** `maxLength` lowers the limit below the tokenizer's own; it never raises it. */
  encode(texts: readonly string[], maxLength?: number): TokenBatch {
    const limit = Math.min(maxLength ?? Infinity, this.modelMaxLength);
    const rows = texts.map((text) => {
      const ids = this.fast?.encode(text) ?? this.tokenizer.encode(text).ids;
      return ids.length > limit ? ids.slice(0, limit) : ids;
    });
    const width = rows.reduce((longest, ids) => Math.max(longest, ids.length), 0);
    const inputIds = new BigInt64Array(rows.length * width).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(rows.length * width);
    rows.forEach((ids, row) => {
      const start = row * width + (this.padLeft ? width - ids.length : 0);
      for (let t = 0; t < ids.length; t++) {
        inputIds[start + t] = BigInt(ids[t]!);
        attentionMask[start + t] = 1n;
      }
    });
    return { inputIds, attentionMask, dims: [rows.length, width] };
  }
}

async function readJson(folder: string, name: string, required: boolean): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path.join(folder, name), 'utf8');
  } catch {
    if (!required) return {};
    throw new ModelMoraError('MODEL_LOAD_FAILED', `The model has no ${name}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ModelMoraError('MODEL_LOAD_FAILED', `The model's ${name} is not a JSON object`);
}

function dropVocab(json: Record<string, unknown>): void {
  const model = json.model;
  if (typeof model === 'object' && model !== null && 'vocab' in model) delete (model as { vocab?: unknown }).vocab;
}

/** A special token as tokenizer_config.json writes it: a string or an AddedToken object. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}
