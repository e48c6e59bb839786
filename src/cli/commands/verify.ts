import type { Command } from 'commander';
import { examples, globalsOf } from '../global-options.js';

export function register(program: Command): void {
  program
    .command('verify')
    .description('re-hash the cached files of every locked model; quarantine bad ones; exit 1 if any')
    .addHelpText('after', examples(['modelmora verify', 'modelmora verify --json']))
    .action(async (_options: unknown, command: Command) => {
      const globals = globalsOf(command);
      const { openContext } = await import('../context.js');
      const ctx = await openContext(globals);
      const { ModelMoraError } = await import('../../domain/errors.js');
      const { assertLockMatches, verifyEntry } = await import('../../project/sync.js');

      // Verifying against a lock that no longer describes the yaml would check the wrong files.
      assertLockMatches(ctx.project.manifest, ctx.project.lock);
      const locked = new Map((ctx.project.lock?.models ?? []).map((e) => [e.model_id, e]));
      const reports = [];
      for (const spec of ctx.project.manifest.models) {
        const report = await verifyEntry(spec, locked.get(spec.id)!, ctx.store);
        reports.push(report);
        for (const bad of report.bad) ctx.output.note(`bad ${spec.id} ${bad.path}: ${bad.reason}`);
        ctx.output.note(`${spec.id}: ${report.ok.length} ok, ${report.bad.length} bad`);
      }
      ctx.output.data({ models: reports }, () => '');
      const bad = reports.reduce((sum, r) => sum + r.bad.length, 0);
      if (bad > 0) {
        throw new ModelMoraError('CHECKSUM_MISMATCH', `${bad} file${bad === 1 ? '' : 's'} failed verification and ${bad === 1 ? 'was' : 'were'} quarantined; run modelmora pull to fetch ${bad === 1 ? 'it' : 'them'} again`);
      }
    });
}
