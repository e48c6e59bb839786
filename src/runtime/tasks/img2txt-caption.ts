import { AutoModelForVision2Seq, AutoProcessor, AutoTokenizer, random, StoppingCriteria, type PreTrainedModel, type PreTrainedTokenizer, type Processor, type Tensor } from '@huggingface/transformers';
import { ModelMoraError } from '../../domain/errors.js';
import type { ItemOutput } from '../../domain/inference.js';
import type { LoadSpec, RunnerBatch } from '../../domain/runner.js';
import { generationLimits, parseGenerationOptions, type GenerationLimits } from '../../domain/generation-parameters.js';
import { generateKwargs } from './generation-options.js';
import { decodeBatchImages } from './image-decode.js';
import type { TaskContext, TaskHandler } from './index.js';
import { checkModelFolder, configureOffline, pickDtype, sessionOptions } from './transformers-setup.js';

/**
 * img2txt, captioning family: transformers.js `image-to-text` on vision-encoder-decoder folders
 * (encoder_model.onnx + decoder_model_merged.onnx). The whole batch is encoded and decoded
 * together (greedy by default, so deterministic); text is cut at the first stop sequence.
 */
export async function loadImageCaptioner(spec: LoadSpec): Promise<TaskHandler> {
  checkModelFolder(spec);
  configureOffline();
  const limits = generationLimits({ max_tokens: 32, ...spec.config });
  const processor = await AutoProcessor.from_pretrained(spec.folder, { local_files_only: true });
  const tokenizer = await AutoTokenizer.from_pretrained(spec.folder, { local_files_only: true });
  const model = await AutoModelForVision2Seq.from_pretrained(spec.folder, {
    local_files_only: true,
    device: 'cpu',
    dtype: pickDtype(spec, 'encoder_model'),
    session_options: sessionOptions(spec),
  });
  return new CaptionHandler(processor, tokenizer, model, limits);
}

/** Counts decoding steps for progress and ends the loop when the run is cancelled. */
class StepWatch extends StoppingCriteria {
  steps = 0;
  constructor(
    private readonly signal: AbortSignal,
    private readonly onStep: (steps: number) => void,
  ) {
    super();
  }

  override _call(inputIds: number[][]): boolean[] {
    this.onStep(++this.steps);
    return inputIds.map(() => this.signal.aborted);
  }
}

class CaptionHandler implements TaskHandler {
  constructor(
    private readonly processor: Processor,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly model: PreTrainedModel,
    private readonly limits: GenerationLimits,
  ) {}

  async run(batch: RunnerBatch, context: TaskContext): Promise<ItemOutput[]> {
    const options = parseGenerationOptions(batch.parameters, this.limits);
    const images = await decodeBatchImages(batch);
    if (images.length === 0) return [];
    const { pixel_values } = (await this.processor(images)) as { pixel_values: Tensor };
    const watch = new StepWatch(context.signal, (steps) => {
      const progress = Math.round((steps / options.maxTokens) * 100);
      images.forEach((_image, item) => context.progress({ item, progress }));
    });
    random.seed(options.seed);
    const sequences = (await this.model.generate({
      inputs: pixel_values,
      ...generateKwargs(options),
      stopping_criteria: [watch],
    } as unknown as Parameters<PreTrainedModel['generate']>[0])) as Tensor;
    if (context.signal.aborted) throw new ModelMoraError('CANCELLED', 'Generation was cancelled');
    const texts = this.tokenizer.batch_decode(sequences, { skip_special_tokens: true });
    return texts.map((text) => ({ kind: 'text', text: cutAtStop(text, options.stop).trim() }));
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

export function cutAtStop(text: string, stops: readonly string[]): string {
  let end = text.length;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0) end = Math.min(end, at);
  }
  return text.slice(0, end);
}
