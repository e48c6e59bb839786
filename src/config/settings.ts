import os from 'node:os';
import path from 'node:path';

/**
 * Every setting, declared once: its key (also the `server:` key in modelmora.yaml and, in
 * kebab-case, the `serve` flag), the environment variables that set it, its type, default
 * and doc. This table feeds the resolver, `serve --help`, the startup log line and the
 * README's settings table.
 */
export type SettingType = 'string' | 'int' | 'number' | 'boolean' | 'duration' | 'list';

export interface Setting {
  key: string;
  env: readonly string[];
  type: SettingType;
  default: string | number | boolean | readonly string[] | null;
  doc: string;
  /** Kept out of logs and error messages. */
  secret?: boolean;
  /** Read by the client and the CLI's daemon commands, not by the daemon (no `serve` flag). */
  client?: boolean;
  /**
   * Inclusive bounds of an int or number setting (default min 0): a value outside them is refused
   * at start-up, naming the setting and its source, instead of failing later where it is used.
   */
  min?: number;
  max?: number;
}

const mb = (n: number) => Math.round(n / (1024 * 1024));

export const SETTINGS = [
  { key: 'home', env: ['MODELMORA_HOME'], type: 'string', default: path.join(os.homedir(), '.modelmora'), doc: 'Cache, registry, jobs and pid file live here' },
  { key: 'host', env: ['MODELMORA_HOST'], type: 'string', default: '127.0.0.1', doc: 'Address REST and gRPC bind to' },
  { key: 'port', env: ['MODELMORA_PORT'], type: 'int', default: 8000, min: 0, max: 65535, doc: 'REST port (/api/v1)' },
  { key: 'grpc_port', env: ['MODELMORA_GRPC_PORT'], type: 'int', default: 50051, min: 0, max: 65535, doc: 'gRPC port (modelmora.v1); 0 picks a free port' },
  { key: 'grpc', env: ['MODELMORA_GRPC'], type: 'boolean', default: true, doc: 'Serve gRPC; false serves REST only' },
  { key: 'hub_url', env: ['MODELMORA_HUB_URL', 'HF_ENDPOINT'], type: 'string', default: 'https://huggingface.co', doc: 'Hugging Face endpoint (a mirror or the test hub); trusted' },
  { key: 'hf_token', env: ['MODELMORA_HF_TOKEN', 'HF_TOKEN'], type: 'string', default: null, doc: 'Hugging Face token for gated or private repos', secret: true },
  { key: 'memory_budget_mb', env: ['MODELMORA_MEMORY_BUDGET_MB'], type: 'int', default: mb(os.totalmem() * 0.5), min: 1, doc: 'Memory all loaded models may use (sum of runner RSS); default half of RAM' },
  { key: 'keep_alive', env: ['MODELMORA_KEEP_ALIVE'], type: 'duration', default: '5m', doc: 'Idle time before a model unloads; -1 keeps it loaded, 0 unloads after use' },
  { key: 'max_queue_size', env: ['MODELMORA_MAX_QUEUE_SIZE'], type: 'int', default: 256, min: 1, doc: 'Queued requests per model before 429' },
  { key: 'max_batch_size', env: ['MODELMORA_MAX_BATCH_SIZE'], type: 'int', default: 32, min: 1, doc: 'Inputs per runner call (dynamic batching)' },
  { key: 'max_delay_ms', env: ['MODELMORA_MAX_DELAY_MS'], type: 'number', default: 0, doc: 'Longest wait to fill a batch; 0 sends at once when the runner is free (requests arriving meanwhile form the next batch)' },
  { key: 'priority_aging_ms', env: ['MODELMORA_PRIORITY_AGING_MS'], type: 'int', default: 10000, doc: 'A request waiting this long moves up one priority level (0 disables)' },
  { key: 'default_timeout_seconds', env: ['MODELMORA_DEFAULT_TIMEOUT_SECONDS'], type: 'int', default: 60, min: 1, max: 600, doc: 'Deadline of a request that sets no timeout_seconds (1..600)' },
  { key: 'drain_timeout_seconds', env: ['MODELMORA_DRAIN_TIMEOUT_SECONDS'], type: 'int', default: 30, min: 1, doc: 'Longest wait for in-flight work on SIGTERM' },
  { key: 'runner_threads', env: ['MODELMORA_RUNNER_THREADS'], type: 'int', default: 0, doc: 'onnxruntime intra-op threads per runner (0: runtime default)' },
  { key: 'runner_spin_mb', env: ['MODELMORA_RUNNER_SPIN_MB'], type: 'int', default: 32, doc: 'onnxruntime worker threads spin while idle for models whose files total at least this many MB (0: every model); on light models the spin costs the daemon more CPU than it saves' },
  { key: 'warm_runner', env: ['MODELMORA_WARM_RUNNER'], type: 'boolean', default: true, doc: 'Keep one idle runner process forked with the runtime imported, so a load skips process start (about 80 MB RSS, outside memory_budget_mb)' },
  { key: 'job_retention', env: ['MODELMORA_JOB_RETENTION'], type: 'duration', default: '24h', doc: 'How long finished job results are kept' },
  { key: 'inline_image_max_kb', env: ['MODELMORA_INLINE_IMAGE_MAX_KB'], type: 'int', default: 1024, min: 1, doc: 'Largest generated PNG answered inline (image_base64); larger ones are served at image_url for job_retention' },
  { key: 'job_concurrency', env: ['MODELMORA_JOB_CONCURRENCY'], type: 'int', default: 64, min: 1, doc: 'Async jobs per model handed to the queue at once; more wait, durable, in the job queue' },
  { key: 'grpc_max_message_mb', env: ['MODELMORA_GRPC_MAX_MESSAGE_MB'], type: 'number', default: 4, min: 0.01, doc: 'Largest gRPC request message (image models allow grpc_image_max_message_mb)' },
  { key: 'grpc_image_max_message_mb', env: ['MODELMORA_GRPC_IMAGE_MAX_MESSAGE_MB'], type: 'number', default: 32, min: 0.01, doc: 'Largest gRPC inference message for image models, and largest answer; also the transport cap (larger is refused by gRPC itself, without error_code)' },
  { key: 'body_limit_mb', env: ['MODELMORA_BODY_LIMIT_MB'], type: 'number', default: 1, min: 0.01, doc: 'Largest REST body (image routes allow image_body_limit_mb)' },
  { key: 'image_body_limit_mb', env: ['MODELMORA_IMAGE_BODY_LIMIT_MB'], type: 'number', default: 32, min: 0.01, doc: 'Largest REST body on inference routes of image models' },
  { key: 'max_inputs', env: ['MODELMORA_MAX_INPUTS'], type: 'int', default: 32, min: 1, doc: 'Inputs (texts or images) in one request' },
  { key: 'max_image_pixels', env: ['MODELMORA_MAX_IMAGE_PIXELS'], type: 'int', default: 178_956_970, min: 1, doc: 'Largest width*height an input image header may declare (checked before decoding)' },
  { key: 'max_json_depth', env: ['MODELMORA_MAX_JSON_DEPTH'], type: 'int', default: 32, min: 1, doc: 'Deepest nesting of objects and arrays in a JSON body or gRPC Struct (checked before parsing)' },
  { key: 'max_in_flight', env: ['MODELMORA_MAX_IN_FLIGHT'], type: 'int', default: 1024, min: 1, doc: 'Requests (REST and gRPC, all models) handled at once; more get 503 SERVICE_UNAVAILABLE with Retry-After. Health and metrics are not counted' },
  { key: 'idle_memory_release_ms', env: ['MODELMORA_IDLE_MEMORY_RELEASE_MS'], type: 'int', default: 30000, doc: 'After a burst (500+ requests), idle time before the daemon gives unused heap memory back to the system (0 disables)' },
  { key: 'max_text_chars', env: ['MODELMORA_MAX_TEXT_CHARS'], type: 'int', default: 100000, min: 1, doc: 'Characters in one input text' },
  { key: 'tokens', env: ['MODELMORA_TOKENS'], type: 'list', default: [], doc: 'API tokens, comma-separated scope:token or scope:name:token (scope admin or inference); any token source turns auth on', secret: true },
  { key: 'tokens_file', env: ['MODELMORA_TOKENS_FILE'], type: 'string', default: null, doc: 'Hashed tokens written by `modelmora token create`; default tokens.json in home (its existence turns auth on)' },
  { key: 'jwt_secret', env: ['MODELMORA_JWT_SECRET'], type: 'string', default: null, doc: 'Accept HS256 JWTs signed with this secret (at least 32 bytes); scope claim admin or inference, exp required', secret: true },
  { key: 'jwt_public_key', env: ['MODELMORA_JWT_PUBLIC_KEY'], type: 'string', default: null, doc: 'Accept RS256 JWTs verified with this PEM public key (or certificate) file' },
  { key: 'jwt_issuer', env: ['MODELMORA_JWT_ISSUER'], type: 'string', default: null, doc: 'Required iss claim of JWTs, when set' },
  { key: 'jwt_audience', env: ['MODELMORA_JWT_AUDIENCE'], type: 'string', default: null, doc: 'Required aud claim of JWTs, when set' },
  { key: 'metrics_auth', env: ['MODELMORA_METRICS_AUTH'], type: 'boolean', default: false, doc: 'Require a token (any scope) for /metrics; default open for scrapers' },
  { key: 'allowed_hosts', env: ['MODELMORA_ALLOWED_HOSTS'], type: 'list', default: [], doc: 'Host header names served besides localhost and loopback addresses (DNS-rebinding guard); on a non-loopback bind, the only names served when set' },
  { key: 'cors_origins', env: ['MODELMORA_CORS_ORIGINS'], type: 'list', default: [], doc: 'Origins allowed to call from a browser (CORS); empty: CORS off, cross-origin writes refused' },
  { key: 'tls_cert', env: ['MODELMORA_TLS_CERT'], type: 'string', default: null, doc: 'PEM certificate file: REST and gRPC serve TLS (with tls_key); unreadable refuses to start' },
  { key: 'tls_key', env: ['MODELMORA_TLS_KEY'], type: 'string', default: null, doc: 'PEM private key file of tls_cert' },
  { key: 'url', env: ['MODELMORA_URL'], type: 'string', default: null, doc: 'Daemon the client and the CLI talk to; default the one recorded in the home (daemon.pid), else http://127.0.0.1:8000', client: true },
  { key: 'token', env: ['MODELMORA_TOKEN'], type: 'string', default: null, doc: 'Bearer token the client and CLI send to the daemon', secret: true, client: true },
  { key: 'log_level', env: ['MODELMORA_LOG_LEVEL'], type: 'string', default: 'info', doc: 'fatal, error, warn, info, debug or trace' },
] as const satisfies readonly Setting[];

export type SettingKey = (typeof SETTINGS)[number]['key'];

/** `max_batch_size` -> `--max-batch-size`. */
export function flagName(key: string): string {
  return `--${key.replaceAll('_', '-')}`;
}
