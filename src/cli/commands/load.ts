import type { Command } from 'commander';
import { examples } from '../global-options.js';

export function register(program: Command): void {
  program
    .command('load')
    .argument('<model>', 'model id (org/name)')
    .description('load a model into memory now (warm-up), evicting idle models if the memory budget needs it')
    .addHelpText('after', examples(['modelmora load sentence-transformers/all-MiniLM-L6-v2', 'modelmora load org/name --json']))
    .action(async (model: string, _options: unknown, command: Command) => {
      const { withClient } = await import('../daemon-client.js');
      const { formatMb } = await import('../render/daemon-format.js');
      await withClient(command, async ({ client, output }) => {
        const started = Date.now();
        const status = await client.loadModel(model);
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        output.data(status, () => `loaded ${status.model_id} (${formatMb(status.memory_usage_mb)}, ${status.device}) in ${seconds}s`);
      });
    });
}
