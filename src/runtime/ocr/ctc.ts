/**
 * CTC greedy decoding for PaddleOCR recognisers (CTCLabelDecode): class 0 is the blank, class
 * i (1..n) is line i of the dictionary file, and with use_space_char the last class is ' '.
 * Take the best class per time step, merge repeats, drop blanks.
 *
 * One addition: the Chinese PP-OCR recognisers rarely let the space class win over the blank in
 * English text ("HelloModelServing2024"), yet the space keeps a peak in word gaps. A blank run
 * between two characters whose space probability peaks at `spaceThreshold` or more is read as
 * a space. Inside words the peak stays far below the default threshold, which catches most word
 * gaps (measured on rendered text: bench/FINDINGS.md).
 */

export interface Dictionary {
  /** Index = class id; [0] is the blank (''). */
  readonly characters: readonly string[];
  /** Class id of ' ', or -1 when the recogniser has no space class. */
  readonly space: number;
}

/** Reads ppocr_keys_v1.txt-style text: one character per line, LF or CRLF, no trailing empty line. */
export function parseDictionary(text: string, useSpaceChar = true): Dictionary {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const characters = ['', ...lines, ...(useSpaceChar ? [' '] : [])];
  return { characters, space: characters.lastIndexOf(' ') };
}

export interface Decoded {
  text: string;
  /** Mean probability of the kept characters; 0 for an empty result. */
  score: number;
}

/**
 * Decodes row `row` of a [rows, steps, classes] probability tensor. Assumes the classes match
 * the dictionary (checked once at load).
 */
export function ctcGreedyDecode(
  probs: Float32Array,
  row: number,
  steps: number,
  classes: number,
  dictionary: Dictionary,
  spaceThreshold = 1,
): Decoded {
  let text = '';
  let sum = 0;
  let kept = 0;
  let previous = -1;
  /** Highest space probability since the last emitted character. */
  let gapSpace = 0;
  const base = row * steps * classes;
  for (let t = 0; t < steps; t++) {
    const offset = base + t * classes;
    let best = 0;
    let bestP = probs[offset]!;
    for (let c = 1; c < classes; c++) {
      const p = probs[offset + c]!;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best === 0 && dictionary.space >= 0) gapSpace = Math.max(gapSpace, probs[offset + dictionary.space]!);
    const leadingOrDoubleSpace = best === dictionary.space && (text === '' || text.endsWith(' '));
    if (best !== 0 && best !== previous && !leadingOrDoubleSpace) {
      if (best !== dictionary.space && text !== '' && !text.endsWith(' ') && gapSpace >= spaceThreshold) text += ' ';
      text += dictionary.characters[best] ?? '';
      sum += bestP;
      kept++;
      gapSpace = 0;
    }
    previous = best;
  }
  text = text.trim();
  return { text, score: kept === 0 ? 0 : sum / kept };
}
