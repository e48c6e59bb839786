import type { Command } from 'commander';
import { examples } from '../global-options.js';

export function register(program: Command): void {
  program
    .command('unload')
    .argument('<model>', 'model id (org/name)')
    .description('unload a model from memory (at once if idle, else when its requests in flight finish)')
    .addHelpText('after', examples(['modelmora unload sentence-transformers/all-MiniLM-L6-v2']))
    .action(async (model: string, _options: unknown, command: Command) => {
      const { withClient } = await import('../daemon-client.js');
      await withClient(command, async ({ client, output }) => {
        const status = await client.unloadModel(model);
        output.data(status, () =>
          status.state === 'unloaded'
            ? `unloaded ${status.model_id}`
            : `unloading ${status.model_id} once its ${status.in_flight ?? 'running'} request${status.in_flight === 1 ? '' : 's'} finish`,
        );
      });
    });
}
