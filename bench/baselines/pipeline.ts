/** The transformers.js feature-extraction pipeline as a user loads it: offline, from a folder, fp32 on CPU. */
import { env, LogLevel, pipeline, type FeatureExtractionPipeline } from '@huggingface/transformers';

export async function loadPipeline(folder: string): Promise<FeatureExtractionPipeline> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.logLevel = LogLevel.ERROR;
  return (await pipeline('feature-extraction', folder, { local_files_only: true, dtype: 'fp32', device: 'cpu' })) as FeatureExtractionPipeline;
}

/** Mean-pooled, normalised sentence vectors, as ModelMora's txt2embed answers by default. */
export async function embed(extractor: FeatureExtractionPipeline, texts: string | string[]): Promise<Float32Array> {
  const out = await extractor(texts, { pooling: 'mean', normalize: true });
  return out.data as Float32Array;
}
