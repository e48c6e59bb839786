import type { Command } from 'commander';
import { examples, globalsOf } from '../global-options.js';

export function register(program: Command): void {
  program
    .command('ls')
    .alias('list')
    .description('list the models in modelmora.yaml: task, revision, locked commit, cached, size')
    .addHelpText('after', examples(['modelmora ls', 'modelmora ls --json']))
    .action(async (_options: unknown, command: Command) => {
      const globals = globalsOf(command);
      const { openContext } = await import('../context.js');
      const ctx = await openContext(globals);
      const { lockedSnapshot } = await import('../../project/sync.js');
      const { formatBytes, formatTable, shortCommit } = await import('../render/format.js');

      const locked = new Map((ctx.project.lock?.models ?? []).map((e) => [e.model_id, e]));
      const rows: { model_id: string; task_type: string; revision: string; commit: string | null; cached: boolean; size_bytes: number | null; files: number | null }[] = [];
      for (const spec of ctx.project.manifest.models) {
        const entry = locked.get(spec.id);
        const cached = entry ? await ctx.store.isComplete(spec.ref, lockedSnapshot(entry)) : false;
        rows.push({
          model_id: spec.id,
          task_type: spec.task,
          revision: spec.revision,
          commit: entry?.commit ?? null,
          cached,
          size_bytes: entry ? entry.files.reduce((sum, f) => sum + f.size, 0) : null,
          files: entry?.files.length ?? null,
        });
      }
      ctx.output.data(rows, () =>
        rows.length === 0
          ? `no models in ${ctx.project.manifestLabel} (add one: modelmora add <org/name> --task <task>)`
          : formatTable(
              ['MODEL', 'TASK', 'REVISION', 'COMMIT', 'CACHED', 'SIZE'],
              rows.map((r) => [
                r.model_id,
                r.task_type,
                r.revision,
                r.commit ? shortCommit(r.commit) : 'not locked',
                r.cached ? 'yes' : 'no',
                r.size_bytes === null ? '-' : formatBytes(r.size_bytes),
              ]),
            ),
      );
    });
}
