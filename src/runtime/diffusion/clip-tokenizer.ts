import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AutoTokenizer, CLIPTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { ModelMoraError } from '../../domain/errors.js';

/**
 * The CLIP tokenizer of a diffusion folder. Hugging Face diffusion repos ship `tokenizer/` as
 * the slow tokenizer's files (vocab.json + merges.txt), which transformers.js cannot read; it
 * reads `tokenizer.json`. So when there is no tokenizer.json, the fast tokenizer's description
 * is built here from vocab.json and merges.txt, exactly as `tokenizers` converts a CLIP
 * tokenizer (NFC, whitespace squeeze, lowercase; CLIP's split pattern; byte-level BPE with a
 * `</w>` end-of-word suffix; <|startoftext|> ... <|endoftext|> around each text).
 */

export const BOS = '<|startoftext|>';
export const EOS = '<|endoftext|>';
const SPLIT = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/** merges.txt lines after the optional `#version` header. */
export function parseMerges(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.length > 0 && !line.startsWith('#version'));
}

/** tokenizer.json of a CLIP tokenizer, from its vocabulary and merges. */
export function clipTokenizerJson(vocab: Record<string, number>, merges: string[]): Record<string, unknown> {
  const idOf = (token: string) => {
    const id = vocab[token];
    if (id === undefined) throw new ModelMoraError('MODEL_LOAD_FAILED', `tokenizer/vocab.json has no '${token}' token`);
    return id;
  };
  const special = (content: string) => ({ id: idOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(BOS), special(EOS)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: SPLIT }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: [EOS, idOf(EOS)], cls: [BOS, idOf(BOS)], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: EOS,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

async function readJson(file: string, what: string): Promise<Record<string, unknown>> {
  try {
    const value: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', `${what} is missing or not valid JSON`, { cause: err });
  }
}

/** Loads `dir` (a model's tokenizer/ folder): tokenizer.json if present, else vocab.json + merges.txt. */
export async function loadClipTokenizer(dir: string): Promise<PreTrainedTokenizer> {
  if (existsSync(path.join(dir, 'tokenizer.json'))) {
    return AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  }
  if (!existsSync(path.join(dir, 'vocab.json')) || !existsSync(path.join(dir, 'merges.txt'))) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', 'tokenizer/ needs tokenizer.json, or vocab.json and merges.txt');
  }
  const vocab = await readJson(path.join(dir, 'vocab.json'), 'tokenizer/vocab.json');
  if (!Object.values(vocab).every((id) => Number.isInteger(id))) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', 'tokenizer/vocab.json must map tokens to ids');
  }
  const merges = parseMerges(await readFile(path.join(dir, 'merges.txt'), 'utf8'));
  const config = existsSync(path.join(dir, 'tokenizer_config.json'))
    ? await readJson(path.join(dir, 'tokenizer_config.json'), 'tokenizer/tokenizer_config.json')
    : {};
  return new CLIPTokenizer(clipTokenizerJson(vocab as Record<string, number>, merges), {
    model_max_length: 77,
    bos_token: BOS,
    eos_token: EOS,
    unk_token: EOS,
    pad_token: EOS,
    ...config,
  });
}

/**
 * Token ids as diffusers feeds the text encoder: `<|startoftext|>`, the text's tokens truncated
 * to length - 2, `<|endoftext|>`, then padding to `length`. (Python's tokenizer truncates before
 * adding the special tokens, so a long prompt still ends with <|endoftext|>; transformers.js
 * truncates after, which would drop it.)
 */
export function clipInputIds(tokenizer: PreTrainedTokenizer, texts: readonly string[], length = 77): number[] {
  const bos = tokenizer.bos_token_id;
  const eos = tokenizer.eos_token_id;
  const pad = tokenizer.pad_token_id ?? eos;
  if (!Number.isInteger(bos) || !Number.isInteger(eos) || !Number.isInteger(pad)) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', 'the tokenizer has no <|startoftext|>, <|endoftext|> or pad token');
  }
  const out: number[] = [];
  for (const text of texts) {
    const ids = [bos, ...tokenizer.encode(text, { add_special_tokens: false }).slice(0, length - 2), eos];
    while (ids.length < length) ids.push(pad);
    out.push(...ids);
  }
  return out;
}
