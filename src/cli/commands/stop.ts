import type { Command } from 'commander';
import { examples, globalsOf } from '../global-options.js';

export function register(program: Command): void {
  program
    .command('stop')
    .description('stop the background daemon of this home: SIGTERM, then wait while it drains in-flight work')
    .option('--timeout <seconds>', 'longest wait for it to exit (default: drain_timeout_seconds + 5)')
    .addHelpText('after', examples(['modelmora stop', 'modelmora stop --home /srv/modelmora --timeout 60']))
    .action(async (flags: { timeout?: string }, command: Command) => {
      const globals = globalsOf(command);
      const { cliHome, defaultStopTimeoutMs, stopDaemon } = await import('../detach.js');
      const { outputFor } = await import('../render/output-for.js');
      const output = outputFor(globals);
      let timeoutMs = defaultStopTimeoutMs();
      if (flags.timeout !== undefined) {
        const seconds = Number(flags.timeout);
        const { validationError } = await import('../../domain/errors.js');
        if (!Number.isFinite(seconds) || seconds <= 0) throw validationError([{ field: 'timeout', message: 'must be a positive number of seconds' }], '--timeout must be a positive number of seconds');
        timeoutMs = seconds * 1000;
      }
      const stopped = await stopDaemon(cliHome(globals.home), timeoutMs);
      output.data({ stopped: stopped !== undefined, pid: stopped?.pid ?? null }, () =>
        stopped ? `stopped the daemon (pid ${stopped.pid})` : 'no daemon running',
      );
    });
}
