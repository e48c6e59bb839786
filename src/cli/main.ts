import { Command, CommanderError } from 'commander';
import { register as registerAdd } from './commands/add.js';
import { register as registerInit } from './commands/init.js';
import { register as registerLock } from './commands/lock.js';
import { register as registerLs } from './commands/ls.js';
import { register as registerPull } from './commands/pull.js';
import { register as registerRm } from './commands/rm.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerVerify } from './commands/verify.js';
import { register as registerStop } from './commands/stop.js';
import { register as registerPs } from './commands/ps.js';
import { register as registerLoad } from './commands/load.js';
import { register as registerUnload } from './commands/unload.js';
import { register as registerStatus } from './commands/status.js';
import { register as registerInfer } from './commands/infer.js';
import { register as registerJobs } from './commands/jobs.js';
import { register as registerTop } from './commands/top.js';
import { register as registerToken } from './commands/token.js';
import { VERSION } from '../version.js';
import { examples } from './global-options.js';
import { describeError, isInterrupt } from './render/error.js';

/**
 * The `modelmora` command. Only commander and the command definitions load here; each action
 * imports what it needs when it runs, so `--help` stays fast. Every failure ends as one
 * `error: <message>` line and a non-zero exit: 1 for errors, 2 for usage.
 */


export function buildProgram(): Command {
  const program = new Command('modelmora')
    .description('Model manager and model server: modelmora.yaml + modelmora.lock, a verified cache, REST and gRPC.')
    .version(VERSION, '-V, --version')
    .option('--home <dir>', 'cache and state folder (MODELMORA_HOME, default ~/.modelmora)')
    .option('--hub-url <url>', 'Hugging Face endpoint or mirror (HF_ENDPOINT)')
    .option('-c, --config <file>', 'project file', 'modelmora.yaml')
    .option('-q, --quiet', 'print nothing but errors and requested data')
    .option('--json', 'print results as JSON')
    .option('--url <url>', 'daemon to talk to (MODELMORA_URL, default the one running for --home, else http://127.0.0.1:8000)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.endsWith('\n') ? text : `${text}\n`) })
    .addHelpText(
      'after',
      examples([
        'modelmora init',
        'modelmora add sentence-transformers/all-MiniLM-L6-v2 --task txt2embed',
        'modelmora lock',
        'modelmora pull --frozen',
        'modelmora ls --json',
      ]),
    );
  for (const register of [registerInit, registerAdd, registerRm, registerLs, registerLock, registerPull, registerVerify, registerServe, registerToken]) {
    register(program);
  }
  // Daemon commands: they talk to a running daemon through the typed client.
  for (const register of [registerStop, registerPs, registerLoad, registerUnload, registerStatus, registerInfer, registerJobs, registerTop]) {
    register(program);
  }
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting so output can flush. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or the help); only the exit code is ours.
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`error: ${describeError(err)}\n`);
    return isInterrupt(err) ? 130 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
