import type { Command } from 'commander';

/** The options every command accepts (commander's camelCase names). */
export interface GlobalOptions {
  home?: string;
  hubUrl?: string;
  config?: string;
  quiet?: boolean;
  json?: boolean;
  /** The daemon the daemon commands talk to (MODELMORA_URL). */
  url?: string;
}

/** The global options as seen from inside a sub-command's action. */
export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** Help text appended to a command: a few runnable examples. */
export function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/**
 * Ctrl-C aborts the running pull (downloads stop, partial files stay as .incomplete for a
 * resume) instead of killing the process mid-write.
 */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  return controller.signal;
}
