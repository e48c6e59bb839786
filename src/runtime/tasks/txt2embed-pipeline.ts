import { pipeline, type FeatureExtractionPipeline, type Tensor } from '@huggingface/transformers';
import { ModelMoraError } from '../../domain/errors.js';
import type { LoadSpec } from '../../domain/runner.js';
import { configureOffline, pickDtype, sessionOptions } from './transformers-setup.js';
import type { TextEncoder, TensorLike, Txt2EmbedConfig } from './txt2embed.js';

/**
 * txt2embed for a graph that takes more than input_ids, attention_mask and token_type_ids (a
 * decoder used as an embedder wants position ids and empty caches): transformers.js' model class
 * feeds those. Only such models pay for importing transformers.js.
 */
export async function loadPipelineEncoder(spec: LoadSpec, config: Txt2EmbedConfig): Promise<TextEncoder> {
  configureOffline();
  // An absolute path is not a valid Hub id, so transformers.js reads the folder as is.
  const extractor = (await pipeline('feature-extraction', spec.folder, {
    local_files_only: true,
    dtype: config.dtype ?? pickDtype(spec),
    device: 'cpu',
    session_options: sessionOptions(spec),
  })) as FeatureExtractionPipeline;
  return {
    async encode(texts, maxLength) {
      // Tokenize and run the graph ourselves (rather than extractor(texts, ...)) to honour
      // max_length, which the pipeline call does not expose.
      const inputs = extractor.tokenizer(texts, { padding: true, truncation: true, max_length: maxLength ?? null }) as {
        input_ids: Tensor;
        attention_mask: Tensor;
      };
      const outputs = (await extractor.model(inputs)) as Record<string, Tensor | undefined>;
      const hidden = outputs.last_hidden_state ?? outputs.token_embeddings ?? outputs.sentence_embedding ?? outputs.logits;
      if (!hidden) throw new ModelMoraError('INFERENCE_FAILED', 'The model has no last_hidden_state output');
      return { hidden: hidden as TensorLike, mask: inputs.attention_mask as TensorLike };
    },
    dispose: () => extractor.dispose(),
  };
}
