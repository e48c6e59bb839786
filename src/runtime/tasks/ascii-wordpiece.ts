import type { Tokenizer } from '@huggingface/tokenizers';

/**
 * BERT's tokenizer (BertNormalizer, BertPreTokenizer, WordPiece, then [CLS] ... [SEP]) for text
 * made only of printable ASCII, tabs and newlines: the ids @huggingface/tokenizers gives, without
 * its per-character work. The library runs each text through regular expressions, NFD, arrays of
 * characters and a slice-and-join per WordPiece candidate, a third of a light model's runner CPU
 * under load; this does a tenth of that work (bench/FINDINGS.md). On ASCII the normalizer reduces to lowercasing (no accents, no CJK, and clean_text only
 * turns \t\n\r into spaces, which the pre-tokenizer splits on anyway), and the pre-tokenizer to
 * runs of letters and digits with each punctuation mark alone.
 *
 * Anything else goes to the library: another pipeline (checked on the config), added tokens that
 * are not [BRACKETED] specials, and any text with other characters or a '[' (which could start an
 * added token). At load the two are compared on probe texts, and a difference turns this off.
 */
export class AsciiWordPiece {
  private constructor(
    /** A piece's id in the vocabulary (pieces never start with '[', so no added token is one). */
    private readonly vocab: (token: string) => number | undefined,
    private readonly unkId: number,
    private readonly continuing: string,
    private readonly maxChars: number,
    private readonly lowercase: boolean,
    private readonly head: readonly number[],
    private readonly tail: readonly number[],
  ) {}

  /** The fast path for this tokenizer, or undefined when its pipeline is not plain BERT. */
  static from(json: Record<string, unknown>, config: Record<string, unknown>, tokenizer: Tokenizer): AsciiWordPiece | undefined {
    const normalizer = json.normalizer as Record<string, unknown> | null | undefined;
    const model = json.model as Record<string, unknown> | undefined;
    if (normalizer?.type !== 'BertNormalizer' || (json.pre_tokenizer as { type?: unknown } | null)?.type !== 'BertPreTokenizer') return undefined;
    if (model?.type !== 'WordPiece' || model.fuse_unk === true || config.remove_space || config.do_lowercase_and_remove_accent) return undefined;
    const added = (json.added_tokens ?? []) as { content?: unknown; id?: unknown }[];
    if (!added.every((t) => typeof t.content === 'string' && /^\[[^\]]+\]$/.test(t.content))) return undefined;
    const special = specialTokens(json.post_processor);
    if (!special) return undefined;
    // The library maps a token through the added tokens first, then the vocabulary.
    const addedIds = new Map(added.map((t) => [t.content as string, t.id]));
    const vocab = (token: string) => tokenizer.token_to_id(token);
    const idOf = (token: string) => {
      const id = addedIds.get(token);
      return typeof id === 'number' ? id : vocab(token);
    };
    const unk = typeof model.unk_token === 'string' ? idOf(model.unk_token) : undefined;
    const head = special.head.map(idOf);
    const tail = special.tail.map(idOf);
    if (unk === undefined || head.includes(undefined) || tail.includes(undefined)) return undefined;
    const fast = new AsciiWordPiece(
      vocab,
      unk,
      typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##',
      typeof model.max_input_chars_per_word === 'number' ? model.max_input_chars_per_word : 100,
      normalizer.lowercase !== false,
      head as number[],
      tail as number[],
    );
    for (const text of PROBES) {
      const ids = fast.encode(text);
      if (!ids || !sameIds(ids, tokenizer.encode(text).ids)) return undefined;
    }
    return fast;
  }

  /** The ids with the special tokens, or undefined when the text is not for this path. */
  encode(text: string): number[] | undefined {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7e || c === 0x5b || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d)) return undefined;
    }
    const s = this.lowercase ? text.toLowerCase() : text;
    const ids = [...this.head];
    let i = 0;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c <= 0x20) {
        i++;
      } else if (isPunctuation(c)) {
        this.word(s[i]!, ids);
        i++;
      } else {
        let end = i + 1;
        while (end < s.length && s.charCodeAt(end) > 0x20 && !isPunctuation(s.charCodeAt(end))) end++;
        this.word(s.slice(i, end), ids);
        i = end;
      }
    }
    for (const id of this.tail) ids.push(id);
    return ids;
  }

  /** WordPiece, as the library does it: longest vocabulary match first; any gap makes the whole word [UNK]. */
  private word(word: string, ids: number[]): void {
    if (word.length > this.maxChars) {
      ids.push(this.unkId);
      return;
    }
    const first = ids.length;
    let start = 0;
    while (start < word.length) {
      let id: number | undefined;
      let end = word.length;
      for (; end > start; end--) {
        const piece = word.slice(start, end);
        id = this.vocab(start > 0 ? this.continuing + piece : piece);
        if (id !== undefined) break;
      }
      if (id === undefined) {
        ids.length = first;
        ids.push(this.unkId);
        return;
      }
      ids.push(id);
      start = end;
    }
  }
}

/** ASCII punctuation as BERT's pre-tokenizer splits it: every symbol between the letters and digits. */
function isPunctuation(c: number): boolean {
  return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

/** The special tokens around a single text: TemplateProcessing's `single`, BertProcessing, or none. */
function specialTokens(processor: unknown): { head: string[]; tail: string[] } | undefined {
  if (processor === null || processor === undefined) return { head: [], tail: [] };
  const p = processor as { type?: unknown; single?: unknown; cls?: unknown; sep?: unknown };
  if (p.type === 'BertProcessing' && Array.isArray(p.cls) && Array.isArray(p.sep)) return { head: [String(p.cls[0])], tail: [String(p.sep[0])] };
  if (p.type !== 'TemplateProcessing' || !Array.isArray(p.single)) return undefined;
  const parts = p.single as { SpecialToken?: { id?: unknown }; Sequence?: { id?: unknown } }[];
  const at = parts.findIndex((part) => part.Sequence?.id === 'A');
  if (at < 0 || parts.some((part, i) => i !== at && typeof part.SpecialToken?.id !== 'string')) return undefined;
  const name = (part: (typeof parts)[number]) => part.SpecialToken!.id as string;
  return { head: parts.slice(0, at).map(name), tail: parts.slice(at + 1).map(name) };
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** Checked against the library at load: case, digits, punctuation, spacing, long and unknown words. */
const PROBES = [
  '',
  '   ',
  'hello world',
  'The Quick Brown Fox jumps over the LAZY dog, twice!',
  "it's 3:45pm -- don't (really) #care @home; 100% sure?",
  'tabs\tand\nnewlines\r\nhere',
  'supercalifragilisticexpialidocious unbelievable reworkings xqzv',
  'a'.repeat(101),
  '~`!@#$%^&*()_+-={}|\\:";\'<>?,./',
];
