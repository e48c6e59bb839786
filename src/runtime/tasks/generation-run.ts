import { random, StoppingCriteria, type PreTrainedModel } from '@huggingface/transformers';
import { ModelMoraError } from '../../domain/errors.js';
import type { GenerationOptions } from '../../domain/generation-parameters.js';
import { generateKwargs } from './generation-options.js';
import { TokenStream } from './token-stream.js';

/** Ends generation once the caller is gone or a stop sequence appeared. */
class StopWhen extends StoppingCriteria {
  constructor(private readonly done: () => boolean) {
    super();
  }

  override _call(inputIds: number[][]): boolean[] {
    const stop = this.done();
    return inputIds.map(() => stop);
  }
}

export interface GenerateOne {
  model: PreTrainedModel;
  /** The generate() inputs of one item (input_ids + attention_mask, or pixel_values). */
  inputs: Record<string, unknown>;
  decode: (ids: bigint[]) => string;
  options: GenerationOptions;
  signal: AbortSignal;
  /** A text piece (possibly empty) after each generated token, and the token count so far. */
  onPiece: (piece: string, tokens: number) => void;
}

/**
 * Generates for ONE item with a fresh, seeded sampler, streaming text pieces as tokens come:
 * one item at a time so its seed alone decides its output (batch mates cannot shift the random
 * sequence) and so each stream is a single sequence.
 */
export async function generateOne(run: GenerateOne): Promise<string> {
  if (run.signal.aborted) throw cancelled();
  const stream = new TokenStream(run.decode, run.options.stop, run.onPiece);
  // transformers.js samples from its global MT19937; a runner does one run at a time, so
  // seeding it here makes the draw sequence of this item depend on the seed only.
  random.seed(run.options.seed);
  await run.model.generate({
    ...run.inputs,
    ...generateKwargs(run.options),
    streamer: stream,
    stopping_criteria: [new StopWhen(() => stream.stopped || run.signal.aborted)],
  } as unknown as Parameters<PreTrainedModel['generate']>[0]);
  if (run.signal.aborted) throw cancelled();
  return stream.final();
}

function cancelled(): ModelMoraError {
  return new ModelMoraError('CANCELLED', 'Generation was cancelled');
}
