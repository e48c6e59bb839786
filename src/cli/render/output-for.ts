import type { GlobalOptions } from '../global-options.js';
import { Output } from './output.js';

/** The Output of the global --quiet and --json flags (without context.ts and its heavy imports). */
export function outputFor(options: GlobalOptions): Output {
  return new Output({ quiet: options.quiet === true, json: options.json === true });
}
