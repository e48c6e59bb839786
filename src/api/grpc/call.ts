import { randomUUID } from 'node:crypto';
import { Metadata, type ServerUnaryCall, type ServerWritableStream, type ServerDuplexStream, type sendUnaryData, type handleUnaryCall, type StatusObject } from '@grpc/grpc-js';
import { ANONYMOUS, type Principal } from '../../auth/principal.js';
import { Cancellation, type CancelSignal } from '../../domain/cancellation.js';
import { ModelMoraError, retryAfterSeconds, toModelMoraError } from '../../domain/errors.js';
import type { InFlightLimit } from '../../services/in-flight.js';
import { checkDecoded, checkMessageSize } from './message-size.js';
import { isUuid } from '../../domain/uuid.js';

/**
 * What every gRPC handler shares: the trace id, the call's deadline and cancellation as a
 * CancelSignal, and the one mapping from a thrown error to a gRPC status. The status code comes
 * from the error table (ModelMoraError.grpcStatus); `error_code` and `trace_id` travel in the
 * trailing metadata, the message as the status details.
 */

/** The logger calls the skin makes (pino's signature). */
export interface GrpcLog {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface CallContext {
  traceId: string;
  /** Absolute time in ms (Date.now clock) the caller stops waiting; Infinity when none was set. */
  deadline: number;
  /** Aborted when the caller cancels or its deadline passes. */
  signal: CancelSignal;
  /** Full method name, for logs. */
  method: string;
  /** Who is calling (set by the access guard, rpc-access.ts); ANONYMOUS when auth is off. */
  principal: Principal;
}

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;

/** Enough for any honest request; bounds the trailer of a hostile one. */
const MAX_FIELD_ERRORS = 50;

/**
 * The principal the access guard let through, kept on the call object itself: a WeakMap entry
 * per call cost more (set, lookup and the collector's ephemeron work) than the rest of the guard.
 */
const PRINCIPAL = Symbol('modelmora.principal');

export function setCallPrincipal(call: object, principal: Principal): void {
  (call as { [PRINCIPAL]?: Principal })[PRINCIPAL] = principal;
}

function callPrincipal(call: object): Principal {
  return (call as { [PRINCIPAL]?: Principal })[PRINCIPAL] ?? ANONYMOUS;
}

/** The caller's x-trace-id when it is a uuid (so a trace crosses services), else a new one. */
export function traceIdOf(call: Pick<AnyCall, 'metadata'>): string {
  const given = call.metadata.get('x-trace-id')[0];
  return isUuid(given) ? given.toLowerCase() : randomUUID();
}

export function callContext(call: AnyCall): CallContext {
  return openCallContext(call).ctx;
}

/**
 * The context, and `settled` to call once the call has answered: grpc-js emits 'cancelled' at
 * the end of every call, answered or not, and aborting then would tell listeners of a call that
 * is over.
 */
function openCallContext(call: AnyCall): { ctx: CallContext; settled: () => void } {
  const traceId = traceIdOf(call);
  const cancel = new Cancellation();
  const onCancelled = () => cancel.abort();
  const events = call as ServerUnaryCall<unknown, unknown>;
  // on + removeListener rather than once + off: 'cancelled' comes once anyway, and once wraps
  // the listener in a fresh closure per call.
  if (call.cancelled) cancel.abort();
  else events.on('cancelled', onCancelled);
  const raw = call.getDeadline();
  const deadline = raw instanceof Date ? raw.getTime() : raw;
  const ctx = { traceId, deadline, signal: cancel, method: call.getPath(), principal: callPrincipal(call) };
  return { ctx, settled: () => events.removeListener('cancelled', onCancelled) };
}

/** The status a failed call ends with. */
export function toStatus(err: ModelMoraError, traceId: string): Partial<StatusObject> {
  const metadata = new Metadata();
  metadata.set('error_code', err.code);
  metadata.set('trace_id', traceId);
  if (err.fieldErrors !== undefined && err.fieldErrors.length > 0) {
    metadata.set('validation_errors', JSON.stringify(err.fieldErrors.slice(0, MAX_FIELD_ERRORS)));
  }
  const retryAfter = retryAfterSeconds(err);
  if (retryAfter !== undefined) metadata.set('retry-after', String(retryAfter));
  return { code: err.grpcStatus, details: describe(err), metadata };
}

/** gRPC clients mostly show only the details: name the first offending fields there too. */
function describe(err: ModelMoraError): string {
  const fields = err.fieldErrors ?? [];
  if (fields.length === 0) return err.message;
  const shown = fields.slice(0, 3).map((f) => `${f.field} ${f.message}`);
  return `${err.message}: ${shown.join('; ')}${fields.length > 3 ? `; and ${fields.length - 3} more` : ''}`;
}

/** Logs a failure the way REST does: unknown ones whole, server-side ones as warnings. */
export function logFailure(log: GrpcLog | undefined, ctx: Pick<CallContext, 'traceId' | 'method'>, err: ModelMoraError): void {
  if (!log) return;
  const fields = { method: ctx.method, trace_id: ctx.traceId, error_code: err.code };
  if (err.code === 'INTERNAL_ERROR') log.error({ ...fields, err: err.cause }, 'grpc call failed');
  else if (err.httpStatus >= 500) log.warn({ ...fields, cause: err.cause }, err.message);
  else log.debug(fields, err.message);
}

export interface UnaryOptions {
  log?: GrpcLog | undefined;
  /** Refuse with SERVICE_UNAVAILABLE while this says so (shutdown); health RPCs pass undefined. */
  refuse?: (() => ModelMoraError | undefined) | undefined;
  /** The global in-flight cap (health RPCs pass none). */
  inFlight?: InFlightLimit | undefined;
  /** Largest request message in bytes; absent: the handler checks (inference, by task type). */
  maxRequestBytes?: number | undefined;
}

/**
 * What every call checks before its handler runs: shutdown, message size, the in-flight cap.
 * Returns the function that gives the in-flight slot back.
 */
export function admit(options: UnaryOptions, request: unknown): () => void {
  const refused = options.refuse?.();
  if (refused) throw refused;
  checkDecoded(request);
  if (options.maxRequestBytes !== undefined) checkMessageSize(request, options.maxRequestBytes);
  return options.inFlight?.enter() ?? NO_SLOT;
}

const NO_SLOT = (): void => undefined;

/**
 * A unary handler from an async function: its value is the answer, anything it throws becomes
 * the status (unknown errors as INTERNAL with a generic message, never their text).
 */
export function unary<Req, Res>(options: UnaryOptions, handler: (request: Req, ctx: CallContext) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const { ctx, settled } = openCallContext(call as ServerUnaryCall<unknown, unknown>);
    // No async wrapper around the handler: one promise level less per call.
    let leave = NO_SLOT;
    let answer: Promise<Res>;
    try {
      leave = admit(options, call.request);
      answer = handler(call.request, ctx);
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (value) => {
        leave();
        settled();
        const trailer = new Metadata();
        trailer.set('trace_id', ctx.traceId);
        callback(null, value, trailer);
      },
      (err: unknown) => {
        leave();
        settled();
        const mm = toModelMoraError(err);
        logFailure(options.log, ctx, mm);
        callback(toStatus(mm, ctx.traceId));
      },
    );
  };
}

/** A required string field: empty (proto3's unset) is a VALIDATION_ERROR naming the field. */
export function required(value: string | undefined, field: string): string {
  if (value === undefined || value === '') {
    throw new ModelMoraError('VALIDATION_ERROR', 'Request validation failed', { fieldErrors: [{ field, message: 'is required' }] });
  }
  return value;
}
