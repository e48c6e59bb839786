import type { Command } from 'commander';
import { examples, globalsOf } from '../global-options.js';

export function register(program: Command): void {
  program
    .command('lock')
    .description('resolve every model in modelmora.yaml and write modelmora.lock (commit, size and sha256 of every file)')
    .addHelpText(
      'after',
      examples(['modelmora lock', 'HF_ENDPOINT=https://hf-mirror.example modelmora lock', 'modelmora lock --json']),
    )
    .action(async (_options: unknown, command: Command) => {
      const globals = globalsOf(command);
      const { openContext } = await import('../context.js');
      const ctx = await openContext(globals);
      const { withEntries } = await import('../../project/lockfile.js');
      const { saveLock } = await import('../../project/project.js');
      const { resolveEntry } = await import('../../project/sync.js');
      const { formatBytes, shortCommit } = await import('../render/format.js');

      const entries = [];
      // One at a time: a hub answers faster than a 2-core machine hashes a local folder anyway.
      for (const spec of ctx.project.manifest.models) {
        const entry = await resolveEntry(spec, ctx.deps);
        entries.push(entry);
        const bytes = entry.files.reduce((sum, f) => sum + f.size, 0);
        ctx.output.note(`locked ${spec.id} ${spec.revision} -> ${shortCommit(entry.commit)} (${entry.files.length} files, ${formatBytes(bytes)})`);
      }
      // Models no longer in the yaml drop out of the lock.
      const changed = await saveLock(ctx.project, withEntries(undefined, entries));
      ctx.output.note(changed ? 'wrote modelmora.lock' : 'modelmora.lock is up to date');
      ctx.output.data(
        { changed, models: entries.map((e) => ({ model_id: e.model_id, revision: e.revision, commit: e.commit, checksum: e.checksum, files: e.files.length })) },
        () => '',
      );
    });
}
