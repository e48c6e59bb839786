import type { Command } from 'commander';
import { examples, globalsOf, interruptSignal } from '../global-options.js';

export function register(program: Command): void {
  program
    .command('pull')
    .description('fetch every locked file into the cache (locking models the lock lacks first)')
    .option('--frozen', 'CI mode: fail if modelmora.yaml and modelmora.lock disagree or a source differs from the lock; never write the lock')
    .addHelpText(
      'after',
      examples([
        'modelmora pull',
        'modelmora pull --frozen            # in CI or a Dockerfile: exactly the lock, or fail',
        'MODELMORA_HOME=/models modelmora pull --frozen --quiet',
      ]),
    )
    .action(async (options: { frozen?: boolean }, command: Command) => {
      const globals = globalsOf(command);
      const { openContext } = await import('../context.js');
      const ctx = await openContext(globals, interruptSignal());
      const { diffLock, withEntries } = await import('../../project/lockfile.js');
      const { saveLock } = await import('../../project/project.js');
      const { assertLockMatches, pullEntry, resolveEntry } = await import('../../project/sync.js');
      const { createPullProgress } = await import('../render/progress.js');
      const { formatBytes, shortCommit } = await import('../render/format.js');
      const { project } = ctx;

      if (options.frozen) {
        assertLockMatches(project.manifest, project.lock);
      } else {
        // Like `npm install`: lock what is new or changed in the yaml, drop what left it.
        const stale = new Set(diffLock(project.manifest, project.lock).map((d) => d.model_id));
        const fresh = [];
        for (const spec of project.manifest.models.filter((m) => stale.has(m.id))) {
          const entry = await resolveEntry(spec, ctx.deps);
          fresh.push(entry);
          ctx.output.note(`locked ${spec.id} ${spec.revision} -> ${shortCommit(entry.commit)}`);
        }
        const declared = new Set(project.manifest.models.map((m) => m.id));
        if (stale.size > 0 || !project.lock) {
          if (await saveLock(project, withEntries(project.lock, fresh, (id) => declared.has(id)))) ctx.output.note('wrote modelmora.lock');
        }
      }

      const locked = new Map((project.lock?.models ?? []).map((e) => [e.model_id, e]));
      const progress = createPullProgress(ctx.output);
      const summaries = [];
      try {
        for (const spec of project.manifest.models) {
          const entry = locked.get(spec.id)!;
          const summary = await pullEntry(spec, entry, ctx.deps, { frozen: options.frozen === true, onEvent: (id, e) => progress.event(id, e) });
          summaries.push(summary);
          ctx.output.note(
            summary.downloaded === 0
              ? `${spec.id}: up to date (${summary.files} files, ${formatBytes(summary.bytes)})`
              : `${spec.id}: pulled ${summary.downloaded} of ${summary.files} files (${formatBytes(summary.downloaded_bytes)})`,
          );
        }
      } finally {
        progress.stop();
      }
      ctx.output.data({ frozen: options.frozen === true, models: summaries }, () => '');
    });
}
