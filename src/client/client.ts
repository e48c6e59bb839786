import { Pool, type Dispatcher } from 'undici';
import { ModelMoraError } from '../domain/errors.js';
import { resolveClientSettings } from './daemon-url.js';
import { errorFromResponse, errorFromTransport } from './http-errors.js';
import type {
  CancelJobResponse,
  DownloadResponse,
  InferenceRequestBody,
  InferenceResponse,
  InferInput,
  InferOptions,
  JobList,
  JobReference,
  JobStatusResponse,
  ListJobsQuery,
  ListModelsQuery,
  Liveness,
  LockFile,
  ModelHealth,
  ModelList,
  ModelResponse,
  ModelStatus,
  Readiness,
  RegisterModelRequest,
  SystemStatus,
  UpdateModelRequest,
} from './types.js';

export interface ModelMoraClientOptions {
  /** e.g. http://127.0.0.1:8000 (a trailing /api/v1 is accepted). Default: MODELMORA_URL, else the
   * daemon recorded in <home>/daemon.pid, else http://127.0.0.1:8000. */
  baseUrl?: string;
  /** Where to look for daemon.pid; default MODELMORA_HOME or ~/.modelmora. */
  home?: string;
  /** Sent as `Authorization: Bearer`; default MODELMORA_TOKEN. */
  token?: string;
  /** Longest wait for an answer (headers, then between body chunks); default 120 s. Inference
   * calls wait at least their timeout_seconds plus 10 s. */
  timeoutMs?: number;
  /** Most sockets kept open to the daemon; default 64. */
  connections?: number;
  /** Replaces the keep-alive pool (tests, proxies). */
  dispatcher?: Dispatcher;
  /** PEM certificate to trust for an https daemon with its own certificate (else the system's CAs and NODE_EXTRA_CA_CERTS). */
  ca?: Buffer | string | Array<Buffer | string>;
}

export type InferRequest = InferInput & InferOptions;

interface Call {
  method: Dispatcher.HttpMethod;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Statuses answered with a body rather than thrown (readiness 503). */
  accept?: readonly number[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

const API = '/api/v1';

/**
 * The typed REST client (API document §2 and §6): every route of the daemon, answers typed,
 * failures rebuilt into ModelMoraError with the daemon's code. One keep-alive pool per client;
 * call close() when done (idle sockets never keep the process alive on their own).
 */
export class ModelMoraClient {
  /** The daemon's base URL, without /api/v1. */
  readonly baseUrl: string;
  private readonly prefix: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;

  /** Liveness, readiness and model health (§2.7). */
  readonly health = {
    live: (): Promise<Liveness> => this.call({ method: 'GET', path: '/health/live' }),
    /** The readiness body, also when the daemon answers 503 (starting or draining). */
    ready: (): Promise<Readiness> => this.call({ method: 'GET', path: '/health/ready', accept: [503] }),
    models: (): Promise<ModelHealth> => this.call({ method: 'GET', path: '/health/models' }),
  };

  constructor(options: ModelMoraClientOptions = {}) {
    const settings = resolveClientSettings(options);
    const url = new URL(settings.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ModelMoraError('VALIDATION_ERROR', 'The daemon URL must start with http:// or https://', {
        fieldErrors: [{ field: 'baseUrl', message: 'must be an http or https URL' }],
      });
    }
    this.baseUrl = settings.baseUrl;
    this.prefix = url.pathname.replace(/\/+$/, '') + API;
    this.token = settings.token;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Pool(url.origin, {
        connections: options.connections ?? 64,
        keepAliveTimeout: 10_000,
        ...(options.ca !== undefined && { connect: { ca: options.ca } }),
      });
  }

  // Registry (§2.3)

  registerModel(request: RegisterModelRequest): Promise<ModelResponse> {
    return this.call({ method: 'POST', path: '/models', body: request });
  }

  listModels(query: ListModelsQuery = {}): Promise<ModelList> {
    return this.call({ method: 'GET', path: '/models', query: { ...query } });
  }

  getModel(modelId: string): Promise<ModelResponse> {
    return this.call({ method: 'GET', path: modelPath('/models', modelId) });
  }

  updateModel(modelId: string, request: UpdateModelRequest): Promise<ModelResponse> {
    return this.call({ method: 'PUT', path: modelPath('/models', modelId), body: request });
  }

  /** Removes the model and its cached files; a loaded or downloading one needs `force`. */
  async deleteModel(modelId: string, options: { force?: boolean } = {}): Promise<void> {
    await this.call({ method: 'DELETE', path: modelPath('/models', modelId), query: { force: options.force } });
  }

  downloadModel(modelId: string): Promise<DownloadResponse> {
    return this.call({ method: 'POST', path: modelPath('/models', modelId, '/download') });
  }

  generateLock(): Promise<LockFile> {
    return this.call({ method: 'POST', path: '/models/lock' });
  }

  // Inference (§2.4)

  infer(modelId: string, request: InferRequest): Promise<InferenceResponse> {
    return this.call({
      method: 'POST',
      path: modelPath('/infer', modelId),
      body: inferenceBody(request),
      timeoutMs: this.inferWait(request),
      ...(request.signal && { signal: request.signal }),
    });
  }

  /** Queues a job and answers at once (202); poll getJob, then getJobResult. */
  inferAsync(modelId: string, request: InferRequest): Promise<JobReference> {
    return this.call({
      method: 'POST',
      path: `${modelPath('/infer', modelId)}/async`,
      body: inferenceBody(request),
      ...(request.signal && { signal: request.signal }),
    });
  }

  // Jobs (§2.5)

  getJob(jobId: string): Promise<JobStatusResponse> {
    return this.call({ method: 'GET', path: `/jobs/${encodeURIComponent(jobId)}` });
  }

  /** JOB_NOT_READY (409, details.status) until the job completed; a failed job throws its error. */
  getJobResult(jobId: string): Promise<InferenceResponse> {
    return this.call({ method: 'GET', path: `/jobs/${encodeURIComponent(jobId)}/result` });
  }

  cancelJob(jobId: string): Promise<CancelJobResponse> {
    return this.call({ method: 'DELETE', path: `/jobs/${encodeURIComponent(jobId)}` });
  }

  async listJobs(query: ListJobsQuery = {}): Promise<JobList> {
    const answer = await this.call<unknown>({ method: 'GET', path: '/jobs', query: { ...query } });
    // Accept a bare array as well as { data }, so the client does not hinge on the envelope.
    if (Array.isArray(answer)) return { data: answer as JobStatusResponse[] };
    const record = answer as { data?: unknown; jobs?: unknown };
    const data = Array.isArray(record.data) ? record.data : Array.isArray(record.jobs) ? record.jobs : [];
    return { data: data as JobStatusResponse[] };
  }

  // Lifecycle (§2.6)

  loadModel(modelId: string): Promise<ModelStatus> {
    return this.call({ method: 'POST', path: modelPath('/models', modelId, '/load') });
  }

  unloadModel(modelId: string): Promise<ModelStatus> {
    return this.call({ method: 'POST', path: modelPath('/models', modelId, '/unload') });
  }

  status(): Promise<SystemStatus> {
    return this.call({ method: 'GET', path: '/status' });
  }

  /** The Prometheus text exposition (§2.8). */
  metrics(): Promise<string> {
    return this.call({ method: 'GET', path: '/metrics' }, 'text');
  }

  /** Closes the pool once requests in flight are done. */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private inferWait(request: InferRequest): number {
    return Math.max(this.timeoutMs, ((request.timeout_seconds ?? 60) + 10) * 1000);
  }

  private async call<T>(call: Call, as: 'json' | 'text' = 'json'): Promise<T> {
    const headers: Record<string, string> = { accept: as === 'json' ? 'application/json' : 'text/plain' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | undefined;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    const wait = call.timeoutMs ?? this.timeoutMs;
    let status: number;
    let text: string;
    let retryAfter: string | undefined;
    try {
      const response = await this.dispatcher.request({
        origin: new URL(this.baseUrl).origin,
        method: call.method,
        path: this.prefix + call.path + queryString(call.query),
        headers,
        ...(body !== undefined && { body }),
        headersTimeout: wait,
        bodyTimeout: wait,
        ...(call.signal && { signal: call.signal }),
      });
      status = response.statusCode;
      const header = response.headers['retry-after'];
      retryAfter = Array.isArray(header) ? header[0] : header;
      text = await response.body.text();
    } catch (err) {
      throw errorFromTransport(err, this.baseUrl, wait);
    }
    const ok = (status >= 200 && status < 300) || (call.accept?.includes(status) ?? false);
    if (!ok) throw errorFromResponse(status, text, retryAfter);
    if (as === 'text') return text as T;
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new ModelMoraError('INTERNAL_ERROR', `The daemon at ${this.baseUrl} answered ${call.method} ${call.path} with invalid JSON`, { cause: err });
    }
  }
}

/** Model ids go into paths URL-encoded (`org%2Fname`), the form the document defines. */
function modelPath(base: string, modelId: string, suffix = ''): string {
  return `${base}/${encodeURIComponent(modelId)}${suffix}`;
}

function queryString(query: Call['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** InferInput in the client's words -> the document's InferenceRequest body. */
export function inferenceBody(request: InferRequest): InferenceRequestBody {
  const inputs = [
    'text' in request && request.text !== undefined,
    'texts' in request && request.texts !== undefined,
    'image' in request && request.image !== undefined,
    'images' in request && request.images !== undefined,
  ].filter(Boolean).length;
  if (inputs !== 1) {
    throw new ModelMoraError('VALIDATION_ERROR', 'Give exactly one of text, texts, image or images', {
      fieldErrors: [{ field: 'input_data', message: 'needs exactly one of text, texts, image or images' }],
    });
  }
  const input_data: InferenceRequestBody['input_data'] =
    'text' in request ? { text: request.text } : 'texts' in request ? { text: request.texts } : 'image' in request ? { image: request.image } : { image: request.images };
  return {
    input_data,
    ...(request.parameters !== undefined && { parameters: request.parameters }),
    ...(request.priority !== undefined && { priority: request.priority }),
    ...(request.timeout_seconds !== undefined && { timeout_seconds: request.timeout_seconds }),
  };
}
