/**
 * Every error ModelMora reports, with its stable code from the API document (§5.3) and the one
 * place where a code is mapped to an HTTP status and a gRPC status. REST, gRPC, the client and
 * the CLI all read this table; nothing else maps codes.
 */

/** gRPC status numbers (from @grpc/grpc-js `status`), kept here so domain has no gRPC import. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

interface CodeRow {
  http: number;
  grpc: number;
}

/** The one table: error code -> HTTP status and gRPC status. */
export const ERROR_CODES = {
  // Registry
  MODEL_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  MODEL_ALREADY_EXISTS: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS },
  MODEL_IN_USE: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION },
  INVALID_MODEL_ID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  INVALID_TASK_TYPE: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  URL_NOT_ALLOWED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  DOWNLOAD_FAILED: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  CHECKSUM_MISMATCH: { http: 500, grpc: GrpcStatus.INTERNAL },
  LOCK_MISMATCH: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION },
  INSUFFICIENT_STORAGE: { http: 507, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  // Lifecycle
  MODEL_LOAD_FAILED: { http: 500, grpc: GrpcStatus.INTERNAL },
  MODEL_NOT_LOADED: { http: 404, grpc: GrpcStatus.FAILED_PRECONDITION },
  INSUFFICIENT_MEMORY: { http: 507, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  UNHEALTHY_MODEL: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  PROCESS_SPAWN_FAILED: { http: 500, grpc: GrpcStatus.INTERNAL },
  // Inference
  INVALID_INPUT: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  INFERENCE_FAILED: { http: 500, grpc: GrpcStatus.INTERNAL },
  INFERENCE_TIMEOUT: { http: 408, grpc: GrpcStatus.DEADLINE_EXCEEDED },
  JOB_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  JOB_NOT_READY: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION },
  JOB_ALREADY_FINISHED: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION },
  /** A cancelled job's result: a state of the job (like JOB_NOT_READY), not a cancelled request. */
  JOB_CANCELLED: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION },
  BATCH_SIZE_EXCEEDED: { http: 413, grpc: GrpcStatus.INVALID_ARGUMENT },
  CANCELLED: { http: 499, grpc: GrpcStatus.CANCELLED },
  // System
  VALIDATION_ERROR: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  UNAUTHORIZED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED },
  FORBIDDEN: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  INTERNAL_ERROR: { http: 500, grpc: GrpcStatus.INTERNAL },
  SERVICE_UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  RATE_LIMIT_EXCEEDED: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
} as const satisfies Record<string, CodeRow>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export interface FieldError {
  field: string;
  message: string;
}

/**
 * The one error class. `message` is shown to users as is, so it must never hold an absolute
 * path, a token or a stack; put such things in `cause` (logged at debug level only).
 */
export class ModelMoraError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly fieldErrors: FieldError[] | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; fieldErrors?: FieldError[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelMoraError';
    this.code = code;
    this.details = options.details;
    this.fieldErrors = options.fieldErrors;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  get grpcStatus(): number {
    return ERROR_CODES[this.code].grpc;
  }
}

/**
 * Seconds a client should wait before retrying: always for RATE_LIMIT_EXCEEDED (1 unless the
 * error says), and for any error that names retry_after_seconds (SERVICE_UNAVAILABLE at the
 * in-flight cap). gRPC sends the same value as `retry-after` metadata.
 */
export function retryAfterSeconds(err: ModelMoraError): number | undefined {
  const given = Number(err.details?.['retry_after_seconds']);
  const valid = Number.isFinite(given) && given > 0;
  if (err.code === 'RATE_LIMIT_EXCEEDED') return valid ? Math.ceil(given) : 1;
  return valid ? Math.ceil(given) : undefined;
}

/** A validation error with one entry per offending field (the document's ValidationError). */
export function validationError(fieldErrors: FieldError[], message = 'Request validation failed'): ModelMoraError {
  return new ModelMoraError('VALIDATION_ERROR', message, { fieldErrors });
}

/** Wraps anything thrown into a ModelMoraError without leaking its text (it may hold paths). */
export function toModelMoraError(err: unknown, fallback: ErrorCode = 'INTERNAL_ERROR'): ModelMoraError {
  if (err instanceof ModelMoraError) return err;
  return new ModelMoraError(fallback, fallback === 'INTERNAL_ERROR' ? 'Internal error' : humanize(fallback), {
    cause: err,
  });
}

function humanize(code: ErrorCode): string {
  const text = code.toLowerCase().replaceAll('_', ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
