import type { Command } from 'commander';
import { examples } from '../global-options.js';

interface InferFlags {
  image?: string[];
  batch?: boolean;
  priority?: string;
  timeout?: string;
  param?: string[];
  async?: boolean;
  output?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command): void {
  program
    .command('infer')
    .argument('<model>', 'model id (org/name)')
    .argument('[text...]', 'input text (words are joined with spaces; --batch sends each as its own input)')
    .description('run one inference on the daemon and print the embedding (first values and dimension) or the text')
    .option('--image <file>', 'an image input (sent as a base64 data URL); repeat for a batch', collect)
    .option('--batch', 'send every text argument as a separate input')
    .option('--priority <level>', 'high, medium or low')
    .option('--timeout <seconds>', 'deadline in seconds, 1..600 (queue time counts)')
    .option('--param <key=value>', 'task parameter (value parsed as JSON when it is JSON); repeatable', collect)
    .option('--async', 'queue a job and print its id instead of waiting')
    .option('-o, --output <file>', 'write a generated image (PNG) to this file')
    .addHelpText(
      'after',
      examples([
        'modelmora infer sentence-transformers/all-MiniLM-L6-v2 "The quick brown fox"',
        'modelmora infer org/clip --image cat.png --json',
        'modelmora infer org/embed --batch "first text" "second text" --priority high',
        'modelmora infer org/sd --async "a red bicycle" --param steps=20',
      ]),
    )
    .action(async (model: string, words: string[], flags: InferFlags, command: Command) => {
      const { withClient } = await import('../daemon-client.js');
      const { buildInferRequest } = await import('../infer-request.js');
      const { outputText } = await import('../render/daemon-format.js');
      const request = await buildInferRequest(words, flags);
      await withClient(command, async ({ client, output }) => {
        if (flags.async) {
          const job = await client.inferAsync(model, request);
          output.data(job, () => job.job_id);
          return;
        }
        const response = await client.infer(model, request);
        if (flags.output) {
          const image = response.output_data.image_base64 ?? response.output_data.images_base64?.[0];
          const { ModelMoraError } = await import('../../domain/errors.js');
          if (image === undefined) throw new ModelMoraError('INVALID_INPUT', `${model} returned no image to write to --output`);
          const { writeFile } = await import('node:fs/promises');
          await writeFile(flags.output, Buffer.from(image, 'base64'));
        }
        output.data(response, () => outputText(response));
      });
    });
}
