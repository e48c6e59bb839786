import type { Command } from 'commander';
import { examples } from '../global-options.js';

export function register(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('async inference jobs: list, show, fetch a result, cancel')
    .addHelpText('after', examples(['modelmora jobs', 'modelmora jobs ls --status queued', 'modelmora jobs get <job-id>', 'modelmora jobs result <job-id> --json', 'modelmora jobs cancel <job-id>']));

  jobs
    .command('ls', { isDefault: true })
    .description('list jobs, newest first')
    .option('--status <status>', 'queued, processing, completed, failed or cancelled')
    .option('--model <id>', 'only jobs of this model')
    .option('--limit <n>', 'at most this many')
    .addHelpText('after', examples(['modelmora jobs ls', 'modelmora jobs ls --status failed --json']))
    .action(async (flags: { status?: string; model?: string; limit?: string }, command: Command) => {
      const { withClient } = await import('../daemon-client.js');
      const { jobsTable } = await import('../render/daemon-format.js');
      const { JOB_STATES } = await import('../../domain/jobs.js');
      const { validationError } = await import('../../domain/errors.js');
      const status = flags.status;
      if (status !== undefined && !(JOB_STATES as readonly string[]).includes(status)) {
        throw validationError([{ field: 'status', message: `must be one of ${JOB_STATES.join(', ')}` }], `--status must be one of ${JOB_STATES.join(', ')}`);
      }
      const limit = flags.limit === undefined ? undefined : Number(flags.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
        throw validationError([{ field: 'limit', message: 'must be a positive whole number' }], '--limit must be a positive whole number');
      }
      await withClient(command, async ({ client, output }) => {
        const list = await client.listJobs({
          ...(status !== undefined && { status: status as (typeof JOB_STATES)[number] }),
          ...(flags.model !== undefined && { model_id: flags.model }),
          ...(limit !== undefined && { limit }),
        });
        output.data(list.data, () => jobsTable(list.data, Date.now()));
      });
    });

  jobs
    .command('get')
    .argument('<job-id>')
    .description("a job's status and progress")
    .addHelpText('after', examples(['modelmora jobs get 123e4567-e89b-12d3-a456-426614174000']))
    .action(async (jobId: string, _flags: unknown, command: Command) => {
      const { withClient } = await import('../daemon-client.js');
      const { jobText } = await import('../render/daemon-format.js');
      await withClient(command, async ({ client, output }) => {
        const job = await client.getJob(jobId);
        output.data(job, () => jobText(job, Date.now()));
      });
    });

  jobs
    .command('result')
    .argument('<job-id>')
    .description("a completed job's output (JOB_NOT_READY until it completes)")
    .addHelpText('after', examples(['modelmora jobs result 123e4567-e89b-12d3-a456-426614174000 --json']))
    .action(async (jobId: string, _flags: unknown, command: Command) => {
      const { withClient } = await import('../daemon-client.js');
      const { outputText } = await import('../render/daemon-format.js');
      await withClient(command, async ({ client, output }) => {
        const result = await client.getJobResult(jobId);
        output.data(result, () => outputText(result));
      });
    });

  jobs
    .command('cancel')
    .argument('<job-id>')
    .description('cancel a queued job (it never runs) or a processing one (stopped where the task allows)')
    .addHelpText('after', examples(['modelmora jobs cancel 123e4567-e89b-12d3-a456-426614174000']))
    .action(async (jobId: string, _flags: unknown, command: Command) => {
      const { withClient } = await import('../daemon-client.js');
      await withClient(command, async ({ client, output }) => {
        const answer = await client.cancelJob(jobId);
        output.data(answer, () => `${answer.status} ${answer.job_id}`);
      });
    });
}
