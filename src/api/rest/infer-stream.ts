import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CancelSignal } from '../../domain/cancellation.js';
import type { InferenceProgress } from '../../domain/engine.js';
import { toModelMoraError } from '../../domain/errors.js';
import type { InferenceResult } from '../../domain/inference.js';
import { errorBody } from './errors.js';

/**
 * An inference answered as Server-Sent Events: `token` events while the runner generates, then
 * one `done` event with the InferenceResponse, or one `error` event with the Error body (the
 * status line, 200, went out with the first byte). The route has already validated the input, so
 * bad requests still get their plain JSON 4xx. A client that closes the connection aborts `signal`.
 */
export async function streamInference(
  request: FastifyRequest,
  reply: FastifyReply,
  batched: boolean,
  signal: CancelSignal,
  run: (onProgress: (event: InferenceProgress) => void) => Promise<InferenceResult>,
  render: (result: InferenceResult) => unknown,
): Promise<{ ok: boolean; error?: unknown }> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Proxies such as nginx would otherwise hold tokens back.
    'x-accel-buffering': 'no',
  });
  const send = (event: string, data: unknown) => {
    if (!raw.writableEnded && !raw.destroyed) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  // A comment line at once: clients see the stream open before the first token.
  raw.write(': stream open\n\n');
  try {
    const result = await run((event) => {
      if (event.token === undefined) return;
      send('token', batched ? { token: event.token, index: event.itemIndex } : { token: event.token });
    });
    send('done', render(result));
    return { ok: true };
  } catch (err) {
    if (!signal.aborted) send('error', errorBody(toModelMoraError(err), request.id));
    return { ok: false, error: err };
  } finally {
    if (!raw.writableEnded) raw.end();
  }
}
