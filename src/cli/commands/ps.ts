import type { Command } from 'commander';
import { examples } from '../global-options.js';

export function register(program: Command): void {
  program
    .command('ps')
    .description('list the models the daemon holds in memory: state, memory, device, last use, when keep_alive unloads them')
    .addHelpText('after', examples(['modelmora ps', 'modelmora ps --json', 'modelmora ps --url http://10.0.0.5:8000']))
    .action(async (_options: unknown, command: Command) => {
      const { withClient } = await import('../daemon-client.js');
      const { psTable } = await import('../render/daemon-format.js');
      await withClient(command, async ({ client, output }) => {
        const status = await client.status();
        output.data(status.loaded_models, () => psTable(status.loaded_models, Date.now()));
      });
    });
}
