import type { Writable } from 'node:stream';

/**
 * Where a command's words go. Data (tables, JSON) goes to stdout; notes and progress lines
 * go to stdout unless --quiet; --json replaces every human line with one JSON document.
 */
export class Output {
  constructor(
    readonly options: { quiet: boolean; json: boolean },
    readonly stdout: Writable & { isTTY?: boolean } = process.stdout,
    readonly stderr: Writable = process.stderr,
  ) {}

  get interactive(): boolean {
    return this.stdout.isTTY === true && !this.options.quiet && !this.options.json;
  }

  /** A human note (`locked org/x ...`); silent with --quiet or --json. */
  note(line: string): void {
    if (!this.options.quiet && !this.options.json) this.stdout.write(`${line}\n`);
  }

  /** A warning stays visible with --quiet and --json, on stderr. */
  warn(line: string): void {
    this.stderr.write(`warning: ${line}\n`);
  }

  /** The command's result: JSON with --json, else the human text (printed even with --quiet). */
  data(json: unknown, human: () => string): void {
    if (this.options.json) this.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    else {
      const text = human();
      if (text) this.stdout.write(`${text}\n`);
    }
  }
}
