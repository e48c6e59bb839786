import type { Command } from 'commander';
import { examples } from '../global-options.js';

export function register(program: Command): void {
  program
    .command('status')
    .description("the daemon's version, uptime, memory against the budget, loaded models and queue depth")
    .addHelpText('after', examples(['modelmora status', 'modelmora status --json']))
    .action(async (_options: unknown, command: Command) => {
      const { withClient } = await import('../daemon-client.js');
      const { statusText } = await import('../render/daemon-format.js');
      await withClient(command, async ({ client, output }) => {
        const status = await client.status();
        output.data(status, () => `daemon      ${client.baseUrl}\n${statusText(status)}`);
      });
    });
}
