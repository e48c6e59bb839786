import type { Command } from 'commander';
import { examples } from '../global-options.js';

export function register(program: Command): void {
  program
    .command('top')
    .description('live view of the daemon: loaded models and their memory against the budget, queue depth, requests/s, recent errors')
    .option('--interval <seconds>', 'refresh period', '1')
    .addHelpText('after', examples(['modelmora top', 'modelmora top --interval 2', 'modelmora top | cat    # one plain snapshot']))
    .action(async (flags: { interval: string }, command: Command) => {
      const { withClient } = await import('../daemon-client.js');
      const { TopTracker, requestCounters, topText } = await import('../render/top-model.js');
      const { validationError } = await import('../../domain/errors.js');
      const seconds = Number(flags.interval);
      if (!Number.isFinite(seconds) || seconds < 0.2 || seconds > 3600) {
        throw validationError([{ field: 'interval', message: 'must be from 0.2 to 3600 seconds' }], '--interval must be from 0.2 to 3600 seconds');
      }
      const intervalMs = seconds * 1000;
      await withClient(command, async ({ client, output }) => {
        const sample = async () => {
          const [status, metrics] = await Promise.all([client.status(), client.metrics()]);
          return { at: Date.now(), status, requests: requestCounters(metrics) };
        };
        const tracker = new TopTracker(client.baseUrl);
        const first = tracker.update(await sample());
        if (!output.interactive) {
          // One plain snapshot: a second sample one interval later gives the request rate.
          await new Promise((resolve) => setTimeout(resolve, intervalMs));
          const snapshot = tracker.update(await sample());
          output.data(
            { url: snapshot.url, status: snapshot.sample.status, requests_per_second: snapshot.rps, requests_total: snapshot.requestsTotal, recent_errors: snapshot.recentErrors },
            () => topText(snapshot, Date.now()),
          );
          return;
        }
        const { runTopView } = await import('../render/top-view.js');
        const { describeError } = await import('../render/error.js');
        await runTopView({ first, tracker, sample, intervalMs, describe: describeError });
      });
    });
}
