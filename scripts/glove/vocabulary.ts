/**
 * Choosing the words of the WordPiece vocabulary. A vocabulary entry is only useful if the
 * BERT tokenizer can produce it: the BertNormalizer lowercases and strips accents, and the
 * BertPreTokenizer splits on whitespace and around every punctuation character, so "u.s." or
 * "cross-country" can never be looked up whole. Words are normalised the same way and kept only
 * if they survive as one pre-token.
 */

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/**
 * Words every built model contains whatever its size, so tests and demos can rely on them
 * (the 2k-word fixture would otherwise miss "steeply" or "kitten").
 */
export const ALWAYS_INCLUDE: readonly string[] = [
  // the test sentences
  'stock', 'markets', 'fell', 'sharply', 'shares', 'dropped', 'steeply', 'a', 'kitten', 'sleeps', 'on', 'the', 'sofa',
  // everyday words used in examples
  'cat', 'cats', 'dog', 'dogs', 'puppy', 'kittens', 'animal', 'pet', 'mat', 'sat', 'sits', 'sleeping', 'couch', 'bed',
  'market', 'price', 'prices', 'stocks', 'share', 'investors', 'trading', 'economy', 'bank', 'money', 'rose', 'rise',
  'fall', 'drop', 'gain', 'gains', 'losses', 'rally', 'crash',
  'weather', 'rain', 'sunny', 'cold', 'warm', 'snow', 'today', 'tomorrow', 'yesterday',
  'food', 'pizza', 'coffee', 'tea', 'bread', 'apple', 'apples', 'fruit', 'eat', 'eats', 'cooking', 'kitchen',
  'car', 'cars', 'train', 'bus', 'road', 'drive', 'city', 'house', 'home', 'room', 'table', 'chair', 'door', 'window',
  'man', 'woman', 'child', 'children', 'people', 'friend', 'family', 'king', 'queen', 'doctor', 'teacher', 'student',
  'hello', 'world', 'good', 'bad', 'happy', 'sad', 'love', 'hate', 'big', 'small', 'fast', 'slow', 'new', 'old',
  'quick', 'brown', 'fox', 'jumps', 'jumped', 'over', 'lazy', 'run', 'runs', 'walk', 'walks', 'play', 'plays',
  'computer', 'software', 'model', 'models', 'server', 'data', 'search', 'query', 'document', 'text', 'image',
  'language', 'learning', 'machine', 'network', 'science', 'music', 'song', 'movie', 'book', 'books', 'read',
  'football', 'soccer', 'game', 'team', 'won', 'lost', 'win', 'school', 'work', 'job', 'office', 'phone', 'email',
  'is', 'are', 'was', 'were', 'be', 'and', 'or', 'of', 'to', 'in', 'at', 'with', 'for', 'it', 'this', 'that', 'an',
  'i', 'you', 'he', 'she', 'we', 'they', 'my', 'your', 'not', 'no', 'yes', 'very',
];

function isPunctuation(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  // BERT counts every non-alphanumeric ASCII character as punctuation, "$" and "^" included.
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return /^\p{P}$/u.test(ch);
}

function isCjk(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  return (
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0x3400 && c <= 0x4dbf) ||
    (c >= 0x20000 && c <= 0x2a6df) ||
    (c >= 0x2a700 && c <= 0x2b73f) ||
    (c >= 0x2b740 && c <= 0x2b81f) ||
    (c >= 0x2b820 && c <= 0x2ceaf) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0x2f800 && c <= 0x2fa1f)
  );
}

/** What BertNormalizer(lowercase, accents stripped) turns a word into. */
export function normalizeLikeBert(word: string): string {
  return word.normalize('NFD').replace(/\p{Mn}/gu, '').toLowerCase();
}

/** True if the BERT pre-tokenizer would hand this (normalised) word to WordPiece in one piece. */
export function isSinglePreToken(word: string): boolean {
  const chars = Array.from(word);
  if (chars.length === 0 || chars.length > 100) return false;
  if (/[\s\p{Cc}\p{Cf}\uFFFD]/u.test(word)) return false;
  if (chars.length === 1) return true;
  return !chars.some((ch) => isPunctuation(ch) || isCjk(ch));
}

/**
 * Picks the vocabulary: the `topWords` most frequent reachable words, then any word of
 * ALWAYS_INCLUDE (and `extra`) not already in. `wordsByFrequency` is the source list, most
 * frequent first. Returns source words (not normalised), in rank order; a normalised form that
 * two source words share goes to the more frequent one.
 */
export function chooseWords(wordsByFrequency: readonly string[], topWords: number, extra: readonly string[] = []): string[] {
  const must = new Set([...ALWAYS_INCLUDE, ...extra].map(normalizeLikeBert));
  const seen = new Set<string>(SPECIAL_TOKENS);
  const chosen: string[] = [];
  let top = 0;
  for (const word of wordsByFrequency) {
    const norm = normalizeLikeBert(word);
    if (seen.has(norm) || !isSinglePreToken(norm)) continue;
    const inTop = top < topWords;
    if (!inTop && !must.has(norm)) continue;
    seen.add(norm);
    chosen.push(word);
    if (inTop) top++;
  }
  return chosen;
}
