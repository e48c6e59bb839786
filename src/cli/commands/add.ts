import type { Command } from 'commander';
import { examples, globalsOf, interruptSignal } from '../global-options.js';

interface AddOptions {
  task?: string;
  revision?: string;
  source?: string;
  files?: string[];
  pull: boolean;
}

export function register(program: Command): void {
  program
    .command('add')
    .description('add a model to modelmora.yaml, lock it and pull it')
    .argument('<id>', 'Hugging Face repo id, org/name')
    .option('-t, --task <task>', 'txt2embed, img2embed, txt2img, img2txt or txt2txt (required for a new model)')
    .option('-r, --revision <revision>', 'branch, tag or commit (default main)')
    .option('-s, --source <source>', 'a local folder (./path or /path) or an https:// URL instead of Hugging Face')
    .option('-f, --files <patterns...>', 'glob patterns of the files to fetch (default: all)')
    .option('--no-pull', 'edit and lock only; fetch later with modelmora pull')
    .addHelpText(
      'after',
      examples([
        'modelmora add sentence-transformers/all-MiniLM-L6-v2 --task txt2embed',
        'modelmora add Xenova/gpt2 --task txt2txt --revision main --files "*.json" "onnx/model_quantized.onnx"',
        'modelmora add modelmora/glove-demo --task txt2embed --source ./models/glove-demo',
        'modelmora add org/model --revision v2        # change the revision of a declared model',
      ]),
    )
    .action(async (rawId: string, options: AddOptions, command: Command) => {
      const globals = globalsOf(command);
      const { ModelRef } = await import('../../domain/model-ref.js');
      const { ModelMoraError } = await import('../../domain/errors.js');
      const { TASK_TYPES } = await import('../../domain/task-type.js');
      // The id is checked before anything is read or written.
      const ref = ModelRef.parse(rawId);
      const { openContext } = await import('../context.js');
      const ctx = await openContext(globals, interruptSignal());
      const { addModel } = await import('../../project/manifest-document.js');
      const { withEntries } = await import('../../project/lockfile.js');
      const { saveLock, saveManifest } = await import('../../project/project.js');
      const { pullEntry, resolveEntry } = await import('../../project/sync.js');
      const { formatBytes, shortCommit } = await import('../render/format.js');

      const known = ctx.project.manifest.models.some((m) => m.id === ref.id);
      if (!known && options.task === undefined) {
        throw new ModelMoraError('INVALID_TASK_TYPE', `--task is required to add ${ref.id} (one of ${TASK_TYPES.join(', ')})`);
      }
      const fields = { id: ref.id, task: options.task, revision: options.revision, source: options.source, files: options.files };
      const { outcome, manifest } = addModel(ctx.project.doc, fields, ctx.project.manifestLabel);
      const spec = manifest.models.find((m) => m.id === ref.id)!;
      // Resolve before writing: a model the source does not have leaves both files untouched.
      const entry = await resolveEntry(spec, ctx.deps);
      ctx.project.manifest = manifest;
      await saveManifest(ctx.project);
      await saveLock(ctx.project, withEntries(ctx.project.lock, [entry]));
      const bytes = entry.files.reduce((sum, f) => sum + f.size, 0);
      ctx.output.note(`${outcome} ${ref.id} (${spec.task}) at ${spec.revision} -> ${shortCommit(entry.commit)}, ${entry.files.length} files, ${formatBytes(bytes)}`);

      let pulled: unknown = null;
      if (options.pull) {
        const { createPullProgress } = await import('../render/progress.js');
        const progress = createPullProgress(ctx.output);
        try {
          pulled = await pullEntry(spec, entry, ctx.deps, { onEvent: (id, e) => progress.event(id, e) });
        } finally {
          progress.stop();
        }
        ctx.output.note(`${ref.id} is ready in the cache`);
      }
      ctx.output.data({ outcome, model_id: ref.id, commit: entry.commit, files: entry.files.length, bytes, pulled }, () => '');
    });
}
