/**
 * Turns generated token ids into text pieces as they are produced, such that the pieces
 * concatenate exactly to the final text: each piece is the growth of decode(all ids so far).
 * It holds back a trailing U+FFFD (a multi-byte character cut in half) and any tail that could
 * be the start of a stop sequence; once a stop sequence appears, the text is cut before it and
 * `stopped` turns true (the generation loop then ends).
 */
export class TokenStream {
  private readonly ids: bigint[] = [];
  private emitted = '';
  private text = '';
  private cut: number | undefined;
  private skippedPrompt = false;
  tokens = 0;

  constructor(
    private readonly decode: (ids: bigint[]) => string,
    private readonly stops: readonly string[],
    private readonly onPiece: (piece: string, tokens: number) => void,
  ) {}

  get stopped(): boolean {
    return this.cut !== undefined;
  }

  /** transformers.js streamer protocol: the first put is the prompt (or decoder start), then one id per step. */
  put(value: bigint[][]): void {
    if (!this.skippedPrompt) {
      this.skippedPrompt = true;
      return;
    }
    if (this.stopped) return;
    const id = value[0]?.[0];
    if (id === undefined) return;
    this.ids.push(id);
    this.tokens++;
    this.text = this.decode(this.ids);
    const at = this.firstStop(this.text);
    if (at !== undefined) this.cut = at;
    this.flush(this.stopped ? this.text.slice(0, this.cut) : this.holdBack(this.text));
  }

  end(): void {
    this.flush(this.final());
  }

  /** The whole output: everything streamed plus what was held back, cut at a stop sequence. */
  final(): string {
    return this.stopped ? this.text.slice(0, this.cut) : this.text;
  }

  private flush(safe: string): void {
    // Decoding is prefix-stable (no clean-up pass), so `safe` extends what was sent.
    const piece = safe.startsWith(this.emitted) ? safe.slice(this.emitted.length) : '';
    if (piece.length > 0) this.emitted = safe;
    this.onPiece(piece, this.tokens);
  }

  private firstStop(text: string): number | undefined {
    let first: number | undefined;
    for (const stop of this.stops) {
      const at = text.indexOf(stop);
      if (at >= 0 && (first === undefined || at < first)) first = at;
    }
    return first;
  }

  /** Drops a trailing half character and the longest tail that begins some stop sequence. */
  private holdBack(text: string): string {
    let end = text.length;
    while (end > 0 && text[end - 1] === '\uFFFD') end--;
    let keep = end;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, end); n > 0; n--) {
        if (text.slice(end - n, end) === stop.slice(0, n)) {
          keep = Math.min(keep, end - n);
          break;
        }
      }
    }
    return text.slice(0, keep);
  }
}
