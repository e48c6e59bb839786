import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ModelMoraError, retryAfterSeconds, type FieldError } from '../../domain/errors.js';

/**
 * The one place where anything thrown in a route becomes an HTTP answer: the API document's
 * Error / ValidationError bodies with a trace_id, the status from the code table, and nothing
 * that could leak (no stack, no path, no text of an unknown error).
 */

export interface ErrorBody {
  error_code: string;
  message: string;
  details?: Record<string, unknown>;
  validation_errors?: FieldError[];
  trace_id: string;
}

/** Enough for any honest request; bounds the answer to a hostile one. */
const MAX_FIELD_ERRORS = 50;

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ModelMoraError | Error, request, reply) => {
    const mm = toHttpError(err);
    // Unknown failures are logged whole (stack and all) but answered with a generic message.
    if (mm.code === 'INTERNAL_ERROR') request.log.error({ err }, 'request failed');
    else if (mm.httpStatus >= 500) request.log.warn({ error_code: mm.code, cause: mm.cause }, mm.message);
    else request.log.info({ error_code: mm.code }, mm.message);
    return sendError(request, reply, mm);
  });
  app.setNotFoundHandler((request, reply) => {
    const route = `${request.method} ${printable(request.url.split('?')[0] ?? '')}`;
    return sendError(request, reply, new ModelMoraError('NOT_FOUND', `No route ${route}`));
  });
}

/** The document's Error / ValidationError body of an error (also sent as an SSE `error` event). */
export function errorBody(err: ModelMoraError, traceId: string): ErrorBody {
  const body: ErrorBody = { error_code: err.code, message: err.message, trace_id: traceId };
  if (err.details !== undefined) body.details = err.details;
  if (err.fieldErrors !== undefined) body.validation_errors = err.fieldErrors.slice(0, MAX_FIELD_ERRORS);
  // Every 400 is the document's ValidationError, whose validation_errors is required: empty when no single field is to blame.
  else if (err.httpStatus === 400) body.validation_errors = [];
  return body;
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: ModelMoraError): FastifyReply {
  const body = errorBody(err, request.id);
  const retryAfter = retryAfterSeconds(err);
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  // RFC 6750 §3: how to authenticate, and (403) that the token's scope is too small.
  if (err.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="modelmora"');
  if (err.code === 'FORBIDDEN' && typeof err.details?.['required_scope'] === 'string') {
    reply.header('www-authenticate', `Bearer realm="modelmora", error="insufficient_scope", scope="${err.details['required_scope']}"`);
  }
  return reply.code(err.httpStatus).type('application/json; charset=utf-8').send(body);
}

/** Maps what fastify, ajv or a service threw onto a code of the table. */
export function toHttpError(err: unknown): ModelMoraError {
  if (err instanceof ModelMoraError) return err;
  const fe = err as Partial<FastifyError> & { validation?: AjvError[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    return new ModelMoraError('VALIDATION_ERROR', 'Request validation failed', {
      fieldErrors: fieldErrorsFromAjv(fe.validation, fe.validationContext),
    });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return fieldError('body', 'Body is not valid JSON', 'is not valid JSON');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return fieldError('body', 'Body is empty', 'must not be empty when Content-Type is application/json');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return fieldError('content-type', 'Unsupported Content-Type', 'must be application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ModelMoraError('PAYLOAD_TOO_LARGE', 'Request body is too large');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return fieldError('content-length', 'Content-Length does not match the body', 'does not match the body');
    default:
      break;
  }
  // Some other client error fastify detected itself (its messages are fixed templates).
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 && typeof fe.code === 'string' && fe.code.startsWith('FST_')) {
    return new ModelMoraError('VALIDATION_ERROR', printable(fe.message ?? 'Bad request'), { fieldErrors: [] });
  }
  return new ModelMoraError('INTERNAL_ERROR', 'Internal error', { cause: err });
}

/**
 * One entry per field, named as a client writes it: `input_data.text[2]`, `model_id`. A missing
 * property is reported on the property itself, not on its parent object.
 */
export function fieldErrorsFromAjv(errors: readonly AjvError[], context?: string): FieldError[] {
  const byField = new Map<string, string>();
  for (const e of errors) {
    let field = pointerToField(e.instancePath ?? '');
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required' && typeof e.params?.['missingProperty'] === 'string') {
      field = field ? `${field}.${e.params['missingProperty']}` : e.params['missingProperty'];
      message = 'is required';
    } else if (e.keyword === 'enum' && Array.isArray(e.params?.['allowedValues'])) {
      message = `must be one of ${(e.params['allowedValues'] as unknown[]).join(', ')}`;
    } else if (e.keyword === 'additionalProperties' && typeof e.params?.['additionalProperty'] === 'string') {
      field = field ? `${field}.${e.params['additionalProperty']}` : e.params['additionalProperty'];
      message = 'is not allowed';
    }
    if (!field) field = context === 'body' || context === undefined ? 'body' : context;
    // The first error for a field is the most specific one (oneOf adds a summary after).
    if (!byField.has(field)) byField.set(field, message);
  }
  return [...byField].map(([field, message]) => ({ field, message }));
}

/** `/input_data/text/0` -> `input_data.text[0]` (RFC 6901 escapes undone). */
function pointerToField(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

function fieldError(field: string, message: string, fieldMessage: string): ModelMoraError {
  return new ModelMoraError('VALIDATION_ERROR', message, { fieldErrors: [{ field, message: fieldMessage }] });
}

function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 197)}...` : clean;
}
