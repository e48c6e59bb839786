import { RawImage } from '@huggingface/transformers';
import { ModelMoraError } from '../../domain/errors.js';
import type { RunnerBatch } from '../../domain/runner.js';

/**
 * The batch's images as transformers.js RawImages (decoded by sharp). The daemon has already
 * checked every image decodes; a failure here is still reported as the caller's bad input.
 */
export async function decodeBatchImages(batch: RunnerBatch): Promise<RawImage[]> {
  const images: RawImage[] = [];
  for (const [i, item] of batch.items.entries()) {
    if (item.kind !== 'image') throw new ModelMoraError('INVALID_INPUT', `Input ${i} is not an image; this model takes images`);
    try {
      images.push((await RawImage.fromBlob(new Blob([item.image]))).rgb());
    } catch (err) {
      throw new ModelMoraError('INVALID_INPUT', `Input ${i} does not decode as an image`, { cause: err });
    }
  }
  return images;
}
