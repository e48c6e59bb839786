import type { Command } from 'commander';
import { examples, globalsOf } from '../global-options.js';

export function register(program: Command): void {
  program
    .command('init')
    .description('write a commented modelmora.yaml in this folder (never overwrites)')
    .addHelpText('after', examples(['modelmora init', 'modelmora init --config deploy/modelmora.yaml']))
    .action(async (_options: unknown, command: Command) => {
      const globals = globalsOf(command);
      const [{ writeAtomic }, { MANIFEST_TEMPLATE }, { manifestPath, outputFor }, path] = await Promise.all([
        import('../../project/project.js'),
        import('../../project/manifest-document.js'),
        import('../context.js'),
        import('node:path'),
      ]);
      const file = manifestPath(globals);
      await writeAtomic(file, MANIFEST_TEMPLATE, { exclusive: true });
      outputFor(globals).note(`wrote ${path.basename(file)}; next: modelmora add <org/name> --task <task>`);
    });
}
