import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ModelMoraError } from '../../domain/errors.js';
import type { ItemOutput } from '../../domain/inference.js';
import type { ArtifactStore } from '../../store/artifacts.js';
import { API_PREFIX, type RouteDeps } from './app.js';
import { errorResponses } from './schemas.js';

/**
 * Generated images: small ones travel inline as `image_base64`; larger ones (over
 * `inline_image_max_kb`) are stored as artifacts and answered as an `image_url` that this
 * plugin serves: GET /api/v1/artifacts/{id} (API document §2.4.1 OutputData).
 */

export interface ArtifactDeps {
  store: ArtifactStore;
  /** Largest PNG answered inline, in KiB (setting inline_image_max_kb). */
  inlineMaxKb: number;
}

export type ImageRef = { image_base64: string } | { image_url: string };

/**
 * How a result's images go back: all inline when each fits, else all stored (so a batch answers
 * one shape). Without an artifact store everything is inline.
 */
export async function placeImages(outputs: readonly ItemOutput[], artifacts: ArtifactDeps | undefined, request: FastifyRequest): Promise<ImageRef[]> {
  const images = outputs.filter((o): o is Extract<ItemOutput, { kind: 'image' }> => o.kind === 'image');
  const limit = (artifacts?.inlineMaxKb ?? 0) * 1024;
  if (!artifacts || images.every((image) => image.png.byteLength <= limit)) {
    return images.map((image) => ({ image_base64: Buffer.from(image.png).toString('base64') }));
  }
  const base = `${request.protocol}://${request.host}${API_PREFIX}/artifacts/`;
  const ids = await Promise.all(images.map((image) => artifacts.store.putPng(image.png)));
  return ids.map((id) => ({ image_url: base + id }));
}

export const artifactsPlugin: FastifyPluginAsync<{ deps: RouteDeps }> = async (app, { deps }) => {
  app.get(
    '/artifacts/:id',
    {
      config: { access: 'inference' },
      schema: {
        tags: ['Inference'],
        operationId: 'getArtifact',
        summary: 'Download a generated image',
        description: 'A PNG produced by a txt2img request whose image was too large to answer inline (see `image_url`). Kept as long as job results (`job_retention`).',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', description: 'Artifact id (a uuid)' } } },
        response: {
          200: { description: 'The PNG', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } },
          ...errorResponses({ 404: 'NOT_FOUND: unknown, malformed or expired id' }),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!deps.artifacts) throw new ModelMoraError('NOT_FOUND', 'This server stores no artifacts');
      const artifact = await deps.artifacts.store.get(id);
      return reply.header('content-type', artifact.contentType).header('cache-control', 'private, max-age=31536000, immutable').send(artifact.bytes);
    },
  );
};
