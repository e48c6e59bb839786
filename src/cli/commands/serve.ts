import type { Command } from 'commander';
import { SETTINGS, flagName } from '../../config/settings.js';
import { examples, globalsOf } from '../global-options.js';

/** Settings taken from the global options instead (shared with the package-manager commands). */
const GLOBAL_KEYS = new Set(['home', 'hub_url']);

export function register(program: Command): void {
  const command = program
    .command('serve')
    .description('run the daemon in the foreground: REST on /api/v1 and gRPC, models from modelmora.yaml loaded on demand');
  // One flag per setting, straight from the settings table (flags > env > yaml > defaults).
  for (const setting of SETTINGS) {
    if (GLOBAL_KEYS.has(setting.key) || ('secret' in setting && setting.secret) || ('client' in setting && setting.client)) continue;
    const shown = Array.isArray(setting.default) ? setting.default.join(',') : String(setting.default);
    command.option(`${flagName(setting.key)} <value>`, `${setting.doc} [${setting.env[0]}, default ${shown}]`);
  }
  command.option('--detach', 'run in the background (log in <home>/logs/daemon.log); wait until ready, print where it listens');
  command
    .addHelpText(
      'after',
      examples([
        'modelmora serve',
        'modelmora serve --detach',
        'modelmora serve --port 9000 --memory-budget-mb 4096',
        'MODELMORA_MAX_BATCH_SIZE=64 modelmora serve --config deploy/modelmora.yaml',
      ]),
    )
    .action(async (options: Record<string, unknown>, cmd: Command) => {
      const globals = globalsOf(cmd);
      const { configFlags } = await import('../context.js');
      const flags = configFlags(globals);
      for (const setting of SETTINGS) {
        const value = options[camel(setting.key)];
        if (value !== undefined) flags[setting.key] = value;
      }
      const explicit = cmd.parent?.getOptionValueSource('config') === 'cli';
      if (options.detach === true) {
        const [{ serveDetached }, { outputFor }] = await Promise.all([import('../detach.js'), import('../render/output-for.js')]);
        await serveDetached({ flags, ...(explicit ? { configPath: globals.config! } : {}), argv: process.argv.slice(2), output: outputFor(globals) });
        return;
      }
      const [{ startDaemon }, { tuneHeapForServing }] = await Promise.all([import('../../daemon/daemon.js'), import('../../daemon/heap-tuning.js')]);
      tuneHeapForServing();
      const daemon = await startDaemon({ ...(explicit ? { configPath: globals.config! } : {}), flags });
      const grpc = daemon.grpcPort === undefined ? '' : `, gRPC on port ${daemon.grpcPort}`;
      process.stderr.write(`ModelMora serving ${daemon.url}/api/v1 (docs ${daemon.url}/docs)${grpc}; Ctrl-C to stop\n`);
      await untilSignal(() => daemon.stop());
      // Everything is closed; a stray handle (a library timer) must not keep a stopped daemon alive.
      setTimeout(() => process.exit(0), 1000).unref();
    });
}

/** First SIGTERM/SIGINT drains and exits 0; a second one exits at once. */
function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) process.exit(130);
      stopping = true;
      stop().then(resolve, reject);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
