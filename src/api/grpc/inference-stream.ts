import { randomUUID } from 'node:crypto';
import type { handleBidiStreamingCall, ServerDuplexStream } from '@grpc/grpc-js';
import { toModelMoraError } from '../../domain/errors.js';
import { admit, callContext, logFailure, toStatus, type CallContext, type UnaryOptions } from './call.js';
import { runInference } from './inference-service.js';
import { toErrorMessage, toInferenceResponse, toTokenResponse, type InferenceRequestMessage, type InferenceResponseMessage } from './messages.js';
import type { GrpcDeps } from './server.js';

/**
 * InferStream: every request is answered on the stream. Requests run concurrently (so the
 * batcher can pack them), and the answers for one request_id are written in the order those
 * requests were sent; requests without a request_id form one sequence of their own, so a
 * client that sends none gets every answer in order. Each answer echoes its request_id
 * (output_data.custom_data.request_id, or error.details.request_id). A generating request
 * (txt2txt) first gets one partial response per generated piece (toTokenResponse), written as
 * they come once the answers before it in its sequence are out, then its final response.
 *
 * A failed request is answered with InferenceResponse.error and the stream goes on. A client
 * half-close ends the stream once every answer is written; a cancelled call aborts what runs.
 * At most STREAM_WINDOW requests are in progress (read, running or written but not flushed);
 * beyond that the stream stops reading, which pushes back on the client through HTTP/2 flow control.
 */

const STREAM_WINDOW = 256;

/**
 * `open` holds a closer per open stream: on shutdown the server calls them, and each stream
 * stops reading and ends once the answers it owes are written (as on a client half-close).
 */
export function inferStream(
  deps: GrpcDeps,
  options: UnaryOptions,
  open: Set<() => void>,
): handleBidiStreamingCall<InferenceRequestMessage, InferenceResponseMessage> {
  const now = deps.now ?? (() => new Date());
  return (call: ServerDuplexStream<InferenceRequestMessage, InferenceResponseMessage>) => {
    const ctx = callContext(call as ServerDuplexStream<unknown, unknown>);
    // A stream holds one in-flight slot while open (its own window bounds what it runs at once).
    let leave: () => void;
    try {
      leave = admit({ ...options, maxRequestBytes: undefined }, undefined);
    } catch (err) {
      call.emit('error', toStatus(toModelMoraError(err), ctx.traceId));
      return;
    }
    call.once('close', () => leave());
    call.once('cancelled', () => leave());
    call.once('finish', () => leave());
    /** Last answer of each request_id, so the next one is written after it. */
    const tails = new Map<string, Promise<void>>();
    let inProgress = 0;
    let paused = false;
    let halfClosed = false;
    let finished = false;

    const settle = () => {
      if (paused && !halfClosed && inProgress < STREAM_WINDOW / 2) {
        paused = false;
        call.resume();
      }
      if (halfClosed && inProgress === 0 && !finished) {
        finished = true;
        open.delete(close);
        call.end();
      }
    };
    const close = () => {
      halfClosed = true;
      call.pause();
      settle();
    };
    open.add(close);
    call.on('cancelled', () => open.delete(close));

    call.on('data', (message: InferenceRequestMessage) => {
      if (halfClosed) return; // closed by the server (shutdown): the rest is not read
      inProgress++;
      if (inProgress >= STREAM_WINDOW && !paused) {
        paused = true;
        call.pause();
      }
      const key = message.request_id ?? '';
      const previous = tails.get(key) ?? Promise.resolve();
      // Pieces wait until this request is at the head of its sequence, then flow straight out.
      let held: InferenceResponseMessage[] | undefined = [];
      const write = (piece: InferenceResponseMessage) => {
        if (!call.cancelled && !call.destroyed) call.write(piece);
      };
      void previous.then(() => {
        for (const piece of held ?? []) write(piece);
        held = undefined;
      });
      const onToken = (piece: InferenceResponseMessage) => (held ? held.push(piece) : write(piece));
      const answer = answerOne(deps, message, ctx, now, options, onToken);
      const tail = previous
        .then(() => answer)
        .then(
          (response) =>
            new Promise<void>((resolve) => {
              if (call.cancelled || call.destroyed) return resolve();
              call.write(response, () => resolve());
            }),
        )
        .finally(() => {
          inProgress--;
          if (tails.get(key) === tail) tails.delete(key);
          settle();
        });
      tails.set(key, tail);
    });
    call.on('end', () => {
      halfClosed = true;
      settle();
    });
    // A transport error or a cancel: what runs is aborted through ctx.signal; nothing to answer.
    call.on('error', () => undefined);
  };
}

/** Runs one request; never rejects: a failure becomes the answer's `error`. */
async function answerOne(
  deps: GrpcDeps,
  message: InferenceRequestMessage,
  stream: CallContext,
  now: () => Date,
  options: UnaryOptions,
  onToken: (piece: InferenceResponseMessage) => void,
): Promise<InferenceResponseMessage> {
  const requestId = message.request_id || undefined;
  // Each message gets its own trace id, so its error and its log line can be matched.
  const ctx: CallContext = { ...stream, traceId: randomUUID() };
  const batched = message.input_data?.data === 'text_batch';
  try {
    const result = await runInference(deps, message, ctx, (event) => {
      if (event.token !== undefined) onToken(toTokenResponse(message.model_id, event.token, batched ? event.itemIndex : undefined, requestId));
    });
    return toInferenceResponse(result, now(), requestId);
  } catch (err) {
    const mm = toModelMoraError(err);
    logFailure(options.log, ctx, mm);
    return { model_id: message.model_id, output_data: null, metadata: null, error: toErrorMessage(mm, ctx.traceId, requestId) };
  }
}
