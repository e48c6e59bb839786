import type { Command } from 'commander';
import { examples, globalsOf } from '../global-options.js';

export function register(program: Command): void {
  program
    .command('rm')
    .alias('remove')
    .description('remove a model from modelmora.yaml and modelmora.lock')
    .argument('<id>', 'model id, org/name')
    .option('--purge', 'also delete its files from the cache')
    .addHelpText('after', examples(['modelmora rm org/model', 'modelmora rm org/model --purge']))
    .action(async (rawId: string, options: { purge?: boolean }, command: Command) => {
      const globals = globalsOf(command);
      const { ModelRef } = await import('../../domain/model-ref.js');
      const ref = ModelRef.parse(rawId);
      const { openContext } = await import('../context.js');
      const ctx = await openContext(globals);
      const { ModelMoraError } = await import('../../domain/errors.js');
      const { removeModel } = await import('../../project/manifest-document.js');
      const { withEntries } = await import('../../project/lockfile.js');
      const { saveLock, saveManifest } = await import('../../project/project.js');

      const declared = ctx.project.manifest.models.some((m) => m.id === ref.id);
      const locked = ctx.project.lock?.models.some((e) => e.model_id === ref.id) ?? false;
      if (!declared && !locked && !options.purge) {
        throw new ModelMoraError('MODEL_NOT_FOUND', `${ref.id} is not in ${ctx.project.manifestLabel} or modelmora.lock`);
      }
      if (declared) {
        ctx.project.manifest = removeModel(ctx.project.doc, ref.id, ctx.project.manifestLabel);
        await saveManifest(ctx.project);
      }
      if (locked && ctx.project.lock) await saveLock(ctx.project, withEntries(ctx.project.lock, [], (id) => id !== ref.id));
      if (declared || locked) ctx.output.note(`removed ${ref.id}`);
      if (options.purge) {
        await ctx.store.remove(ref);
        ctx.output.note(`deleted ${ref.id} from the cache`);
      }
      ctx.output.data({ model_id: ref.id, removed: declared || locked, purged: options.purge === true }, () => '');
    });
}
