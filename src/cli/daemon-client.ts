import type { Command } from 'commander';
import type { ModelMoraClient } from '../client/client.js';
import { globalsOf, type GlobalOptions } from './global-options.js';
import path from 'node:path';
import v8 from 'node:v8';
import type { Output } from './render/output.js';
import { outputFor } from './render/output-for.js';

/**
 * What a daemon command works with: the typed client (never daemon internals) and the output.
 * Loaded by the actions only, so `--help` does not pay for undici.
 */
export interface DaemonContext {
  client: ModelMoraClient;
  output: Output;
  globals: GlobalOptions;
}

/** Runs `fn` with a client for --url / MODELMORA_URL / the daemon of --home, and closes it. */
export async function withClient<T>(command: Command, fn: (ctx: DaemonContext) => Promise<T>): Promise<T> {
  const globals = globalsOf(command);
  // undici parses HTTP with llhttp compiled to WebAssembly; V8 then optimizes it on background
  // threads and holds the process at exit until that is done (bench/FINDINGS.md). A CLI run
  // makes a few requests: the baseline
  // compiler is plenty, and the command ends as soon as its answer is printed.
  v8.setFlagsFromString('--liftoff-only');
  const { ModelMoraClient } = await import('../client/client.js');
  const client = new ModelMoraClient({
    ...(globals.url !== undefined && { baseUrl: globals.url }),
    ...(globals.home !== undefined && { home: path.resolve(globals.home) }),
  });
  const output = outputFor(globals);
  try {
    return await fn({ client, output, globals });
  } finally {
    await client.close();
  }
}
