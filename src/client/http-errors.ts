import { ModelMoraError, isErrorCode, type ErrorCode, type FieldError } from '../domain/errors.js';

/**
 * Turns what the daemon answered (or failed to answer) back into the ModelMoraError it threw,
 * so a caller catches the same codes in-process and over the wire.
 */

const BODY_KEYS = new Set(['error_code', 'message', 'details', 'validation_errors', 'trace_id']);

/** When the body names no known code (a proxy's page, an older daemon), the status decides. */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'VALIDATION_ERROR',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'INFERENCE_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMIT_EXCEEDED',
  503: 'SERVICE_UNAVAILABLE',
  507: 'INSUFFICIENT_MEMORY',
};

export function errorFromResponse(status: number, bodyText: string, retryAfter: string | undefined): ModelMoraError {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // not JSON: decided by the status below
  }
  const details: Record<string, unknown> = isRecord(body.details) ? { ...body.details } : {};
  // The document puts some facts beside the code (JOB_NOT_READY's `status`); keep them too.
  for (const [key, value] of Object.entries(body)) if (!BODY_KEYS.has(key)) details[key] = value;
  if (typeof body.trace_id === 'string') details.trace_id = body.trace_id;
  const seconds = retryAfter === undefined ? NaN : Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) details.retry_after = seconds;

  const known = isErrorCode(body.error_code);
  const code: ErrorCode = known ? (body.error_code as ErrorCode) : (CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR'));
  const message = known && typeof body.message === 'string' ? body.message : `The daemon answered HTTP ${status}`;
  if (!known && typeof body.error_code === 'string') details.error_code = body.error_code;
  const fieldErrors = Array.isArray(body.validation_errors) ? body.validation_errors.filter(isFieldError) : undefined;
  return new ModelMoraError(code, message, {
    ...(Object.keys(details).length > 0 && { details }),
    ...(fieldErrors !== undefined && { fieldErrors }),
  });
}

/** Socket-level failures that mean nothing listens there (or it went away). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOENT']);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** The message every unreachable-daemon error carries; the CLI prints it as is. */
export function noDaemonMessage(url: string): string {
  return `no daemon at ${url}; start one with \`modelmora serve --detach\``;
}

export function errorFromTransport(err: unknown, url: string, waitedMs: number): ModelMoraError {
  if (err instanceof ModelMoraError) return err;
  const code = transportCode(err);
  if (code === 'ABORT') return new ModelMoraError('CANCELLED', 'Request cancelled', { cause: err });
  if (code !== undefined && TIMEOUTS.has(code)) {
    return new ModelMoraError('SERVICE_UNAVAILABLE', `The daemon at ${url} did not answer within ${Math.round(waitedMs / 1000)} s`, {
      cause: err,
      details: { reason: 'timeout' },
    });
  }
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new ModelMoraError('SERVICE_UNAVAILABLE', noDaemonMessage(url), { cause: err, details: { reason: 'unreachable' } });
  }
  return new ModelMoraError('SERVICE_UNAVAILABLE', `Request to the daemon at ${url} failed`, { cause: err });
}

/** undici wraps socket errors (`cause`, AggregateError for several addresses); find the code. */
function transportCode(err: unknown, depth = 0): string | undefined {
  if (depth > 4 || err === null || typeof err !== 'object') return undefined;
  const e = err as { name?: unknown; code?: unknown; cause?: unknown; errors?: unknown };
  if (e.name === 'AbortError' || e.code === 'UND_ERR_ABORTED' || e.code === 'ABORT_ERR') return 'ABORT';
  if (typeof e.code === 'string' && (UNREACHABLE.has(e.code) || TIMEOUTS.has(e.code))) return e.code;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = transportCode(inner, depth + 1);
      if (found) return found;
    }
  }
  return transportCode(e.cause, depth + 1) ?? (typeof e.code === 'string' ? e.code : undefined);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isFieldError(value: unknown): value is FieldError {
  return isRecord(value) && typeof value.field === 'string' && typeof value.message === 'string';
}
