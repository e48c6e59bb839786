/**
 * The tokenizer files of a BERT-style (uncased WordPiece) model folder, in the Hugging Face
 * `tokenizers` format that transformers.js, Python transformers and the Rust library all read:
 * tokenizer.json, tokenizer_config.json and special_tokens_map.json.
 */
import { SPECIAL_TOKENS } from './vocabulary.js';

/** `vocab` holds every token in id order: the special tokens first, then the words. */
export function tokenizerJson(vocab: readonly string[]): string {
  const id = (token: string): number => {
    const i = vocab.indexOf(token);
    if (i < 0) throw new Error(`vocabulary lacks ${token}`);
    return i;
  };
  const special = (token: string) => ({ SpecialToken: { id: token, type_id: 0 } });
  const specialPair = (token: string) => ({ SpecialToken: { id: token, type_id: 1 } });
  const VOCAB_PLACEHOLDER = '__VOCAB_PLACEHOLDER__';
  const doc = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({
      id: id(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]')],
      pair: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]'), { Sequence: { id: 'B', type_id: 1 } }, specialPair('[SEP]')],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: VOCAB_PLACEHOLDER,
    },
  };
  // The vocabulary is written by hand, one token a line in id order: a JS object would move
  // integer-like keys ("1990") to the front and would treat "__proto__" specially.
  const vocabText = `{\n${vocab.map((token, i) => `${JSON.stringify(token)}: ${i}`).join(',\n')}\n    }`;
  // A replacer function, because a replacement string would expand "$&" and friends inside tokens.
  const text = JSON.stringify(doc, null, 2).replace(JSON.stringify(VOCAB_PLACEHOLDER), () => vocabText);
  return `${text}\n`;
}

export function tokenizerConfigJson(): string {
  const addedTokensDecoder = Object.fromEntries(
    SPECIAL_TOKENS.map((content, i) => [String(i), { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]),
  );
  return json({
    added_tokens_decoder: addedTokensDecoder,
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: '[MASK]',
    model_max_length: 512,
    never_split: null,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  });
}

export function specialTokensMapJson(): string {
  return json({ cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' });
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
