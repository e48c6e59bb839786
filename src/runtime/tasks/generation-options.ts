import type { GenerationOptions } from '../../domain/generation-parameters.js';

/** The transformers.js generate() options for these parameters. */
export function generateKwargs(options: GenerationOptions): Record<string, unknown> {
  return {
    max_new_tokens: options.maxTokens,
    do_sample: options.doSample,
    ...(options.doSample ? { temperature: options.temperature, top_k: options.topK, top_p: options.topP } : {}),
  };
}
