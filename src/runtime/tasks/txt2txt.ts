import { AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer, type PreTrainedModel, type PreTrainedTokenizer, type Tensor } from '@huggingface/transformers';
import { ModelMoraError } from '../../domain/errors.js';
import type { ItemOutput } from '../../domain/inference.js';
import type { LoadSpec, RunnerBatch } from '../../domain/runner.js';
import type { TaskContext, TaskHandler } from './index.js';
import { generationLimits, parseGenerationOptions, type GenerationLimits } from '../../domain/generation-parameters.js';
import { generateOne } from './generation-run.js';
import { checkModelFolder, configureOffline, pickDtype, readModelConfig, sessionOptions } from './transformers-setup.js';

/**
 * txt2txt: transformers.js `text-generation` (decoder-only, gpt2-style: the output continues the
 * prompt) or `text2text-generation` (encoder-decoder, t5-style), chosen from the folder's
 * config.json (`is_encoder_decoder`). The answer is the generated text only, without the prompt,
 * exactly the concatenation of the streamed tokens.
 */
export async function loadTxt2Txt(spec: LoadSpec): Promise<TaskHandler> {
  checkModelFolder(spec);
  configureOffline();
  const limits = generationLimits(spec.config);
  const encoderDecoder = readModelConfig(spec.folder).is_encoder_decoder === true;
  const options = { local_files_only: true, device: 'cpu' as const, session_options: sessionOptions(spec) };
  const tokenizer = await AutoTokenizer.from_pretrained(spec.folder, { local_files_only: true });
  const model = encoderDecoder
    ? await AutoModelForSeq2SeqLM.from_pretrained(spec.folder, { ...options, dtype: pickDtype(spec, 'encoder_model') })
    : await AutoModelForCausalLM.from_pretrained(spec.folder, { ...options, dtype: pickDtype(spec) });
  return new Txt2TxtHandler(tokenizer, model, limits);
}

class Txt2TxtHandler implements TaskHandler {
  constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly model: PreTrainedModel,
    private readonly limits: GenerationLimits,
  ) {}

  async run(batch: RunnerBatch, context: TaskContext): Promise<ItemOutput[]> {
    const options = parseGenerationOptions(batch.parameters, this.limits);
    const outputs: ItemOutput[] = [];
    for (const [item, input] of batch.items.entries()) {
      if (input.kind !== 'text') throw new ModelMoraError('INVALID_INPUT', `Input ${item} is not text; this model takes a prompt`);
      const inputs = this.tokenizer(input.text) as { input_ids: Tensor; attention_mask: Tensor };
      const text = await generateOne({
        model: this.model,
        inputs,
        decode: (ids) => this.tokenizer.decode(ids, { skip_special_tokens: true }),
        options,
        signal: context.signal,
        onPiece: (piece, tokens) =>
          context.progress({ item, progress: Math.round((tokens / options.maxTokens) * 100), ...(piece ? { token: piece } : {}) }),
      });
      outputs.push({ kind: 'text', text });
    }
    return outputs;
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
