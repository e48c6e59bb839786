/**
 * Baseline B2: the server a user would write. A fastify route that calls the transformers.js
 * pipeline once per request — no queue, no batching — and answers the embedding as JSON.
 *
 *   child of bench/run.ts: argv[2] = model folder; sends { ready, url } over IPC
 */
import Fastify from 'fastify';
import { serveParent } from '../harness/child.js';
import { embed, loadPipeline } from './pipeline.js';

const folder = process.argv[2];
if (!folder) throw new Error('usage: naive-server.js <model folder>');
const extractor = await loadPipeline(folder);
const app = Fastify({ logger: false });
app.post('/embed', async (request) => {
  const body = request.body as { input_data?: { text?: unknown } };
  const text = body.input_data?.text;
  if (typeof text !== 'string') throw Object.assign(new Error('input_data.text must be a string'), { statusCode: 400 });
  return { embedding: Array.from(await embed(extractor, text)) };
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
serveParent({ url: `http://127.0.0.1:${port}/embed` }, async () => ({}));
