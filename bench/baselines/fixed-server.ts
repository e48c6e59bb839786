/**
 * Baseline B3: the cheapest useful HTTP answer. A fastify route that parses the same request
 * body and answers a fixed embedding of 100 floats as JSON (what the demo model answers), so
 * the gap to ModelMora is everything but HTTP + JSON.
 */
import Fastify from 'fastify';
import { serveParent } from '../harness/child.js';

// 100 floats with the digits a real embedding has.
const embedding = Array.from({ length: 100 }, (_, i) => Number((Math.sin(i + 1) / 10).toPrecision(8)));
const app = Fastify({ logger: false });
app.post('/embed', async (request) => {
  const body = request.body as { input_data?: { text?: unknown } };
  if (typeof body.input_data?.text !== 'string') throw Object.assign(new Error('input_data.text must be a string'), { statusCode: 400 });
  return { embedding };
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
serveParent({ url: `http://127.0.0.1:${port}/embed` }, async () => ({}));
