import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURE_MODELS, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { call, waitFor } from '../support/daemon-http.js';
import { grpc, grpcClients, type GrpcClients, type Msg } from '../support/grpc-client.js';
import { pngDeclaring, solidImage } from '../support/images.js';
import { rawRequest } from '../support/raw-http.js';
import { ProtoWriter } from '../../scripts/onnx/protobuf-writer.js';

// The table of hostile and malformed inputs (issue 6): one row per case, sent over REST and,
// where the case exists there, over gRPC, each with its expected HTTP status, gRPC code and
// error_code. Rows that could hurt the daemon are followed by a liveness check and one good
// inference; the table ends with both. Every error body and every daemon log line is then
// checked for paths, home folders and stacks.

const TEXT = 'bi/text';
const IMAGE = 'bi/image';
const YAML_LOOPBACK = 'ssrf/yaml-loopback';
const YAML_METADATA = 'ssrf/yaml-metadata';
const S = grpc.status;
/** Tokens of the table's daemon (MODELMORA_TOKENS); the hygiene check greps for them too. */
const ADMIN_TOKEN = 'bad-inputs-admin-token-3f9a1c77d2';
const INFERENCE_TOKEN = 'bad-inputs-inference-token-8b2e4d19aa';
const bearer = (token: string) => `Bearer ${token}`;

type Json = Record<string, unknown>;

interface RestCase {
  method: string;
  path: string;
  /** The Authorization header; default the admin token, null: none. */
  auth?: string | null;
  /** Sent as JSON (a string is sent as is). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent with Transfer-Encoding: chunked and no Content-Length. */
  chunks?: () => Iterable<string>;
}

interface GrpcCase {
  service: 'inference' | 'registry' | 'management';
  method: string;
  message: () => Msg;
  /** The authorization metadata; default the admin token, null: none. */
  auth?: string | null;
}

interface Row {
  name: string;
  rest?: RestCase;
  status?: number;
  /** error_code over REST and gRPC. */
  code: string;
  /** The field a VALIDATION_ERROR / INVALID_INPUT names, when it names one. */
  field?: string;
  grpc?: GrpcCase;
  grpcStatus?: number;
  /** error_code over gRPC when it differs (none: the transport refused it). */
  grpcCode?: string | null;
  /** Follow the row with a liveness check and a good inference. */
  risky?: boolean;
  /** gRPC: send these bytes as the request instead of encoding `grpc.message`. */
  rawGrpc?: () => Uint8Array;
}

const register = (fields: Json): RestCase => ({ method: 'POST', path: '/models', body: { task_type: 'txt2embed', ...fields } });
const registerGrpc = (fields: Msg): GrpcCase => ({ service: 'registry', method: 'RegisterModel', message: () => ({ task_type: 'TASK_TYPE_TXT2EMBED', ...fields }) });
const infer = (body: unknown, model = TEXT): RestCase => ({ method: 'POST', path: `/infer/${model}`, body });
const inferGrpc = (message: Msg, model = TEXT): GrpcCase => ({ service: 'inference', method: 'Infer', message: () => ({ model_id: model, ...message }) });
const text = { input_data: { text: 'a sentence' } };
const MB = 1024 * 1024;

function deepJson(levels: number): string {
  return `${'['.repeat(levels)}${']'.repeat(levels)}`;
}
/** InferenceRequest bytes whose parameters Struct nests `levels` Values deep (built by hand: clients refuse to encode it). */
function deepInferMessage(levels: number): Uint8Array {
  // Value{string_value 3} at the bottom, then Value{struct_value 5: Struct{fields 1: entry{key 1, value 2}}} around it.
  let value = new ProtoWriter().string(3, 'leaf').finish();
  for (let i = 0; i < levels; i++) {
    const inner = value;
    value = new ProtoWriter().message(5, (struct) => struct.message(1, (entry) => entry.string(1, 'k').bytes(2, inner))).finish();
  }
  const top = value;
  return new ProtoWriter()
    .string(1, TEXT)
    .message(2, (input) => input.string(1, 'x'))
    .message(3, (params) => params.message(1, (entry) => entry.string(1, 'deep').bytes(2, top)))
    .finish();
}

function deepStruct(levels: number): Msg {
  let value: Msg = { numberValue: 1 };
  for (let i = 0; i < levels; i++) value = { structValue: { fields: { k: value } } };
  return { fields: { deep: value } };
}

const BAD_IDS: Array<[string, string]> = [
  ['../../etc/passwd', 'path climbing'],
  ['a/../../b', 'climbing in the middle'],
  ['/etc/passwd', 'absolute path'],
  ['x--y', 'double dash (cache folder separator)'],
  ['x.git', '.git suffix'],
  [`org/${'a'.repeat(97)}`, '97-character name'],
  ['org/mödel', 'non-ASCII'],
  ['org/a\u0000b', 'NUL byte'],
  ['org/\uff0e\uff0e', 'full-width dots'],
];

const SSRF_URLS: Array<[string, string]> = [
  ['https://127.0.0.1/model', 'loopback'],
  ['https://169.254.169.254/latest/meta-data/', 'cloud metadata'],
  ['https://[::1]/model', 'IPv6 loopback'],
  ['https://2130706433/model', 'decimal loopback'],
  ['https://127.1/model', 'short-form loopback'],
  ['https://[::ffff:127.0.0.1]/model', 'IPv4-mapped loopback'],
  ['https://localhost./model', 'localhost with a trailing dot'],
  ['https://10.0.0.7/model', 'private network'],
  ['file:///etc/passwd', 'file scheme'],
  ['http://example.com/model', 'plain http'],
  ['https://user:secret@example.com/model', 'credentials in the URL'],
];

function rows(png20k: Buffer, goodPng: Buffer): Row[] {
  return [
    // --- ids (foundation issue): refused with no file-system access ---
    ...BAD_IDS.map(([id, why]): Row => ({
      name: `model id: ${why}`,
      rest: register({ model_id: id }),
      status: 400,
      code: 'INVALID_MODEL_ID',
      grpc: registerGrpc({ model_id: id }),
      grpcStatus: S.INVALID_ARGUMENT,
    })),
    { name: 'model id in the path: encoded ../../etc/passwd', rest: { method: 'GET', path: '/models/..%2F..%2Fetc%2Fpasswd' }, status: 400, code: 'INVALID_MODEL_ID', grpc: { service: 'registry', method: 'GetModel', message: () => ({ model_id: '../../etc/passwd' }) }, grpcStatus: S.INVALID_ARGUMENT },
    { name: 'model id in the path: etc/passwd is just an unknown model', rest: { method: 'GET', path: '/models/etc/passwd' }, status: 404, code: 'MODEL_NOT_FOUND', grpc: { service: 'registry', method: 'GetModel', message: () => ({ model_id: 'etc/passwd' }) }, grpcStatus: S.NOT_FOUND },
    { name: 'inference on a climbing id', rest: infer(text, '..%2F..%2Fsecret'), status: 400, code: 'INVALID_MODEL_ID', grpc: inferGrpc({ input_data: { text: 'x' } }, '../../secret'), grpcStatus: S.INVALID_ARGUMENT },
    { name: 'load a climbing id', rest: { method: 'POST', path: '/models/..%2F..%2Fetc/load' }, status: 400, code: 'INVALID_MODEL_ID', grpc: { service: 'management', method: 'LoadModel', message: () => ({ model_id: '../etc' }) }, grpcStatus: S.INVALID_ARGUMENT },

    // --- SSRF: source_url refused where it enters; a seeded one refused by the guard at download ---
    ...SSRF_URLS.map(([url, why]): Row => ({
      name: `source_url: ${why}`,
      rest: register({ model_id: `ssrf/${why.replace(/[^a-z0-9]+/gi, '-')}`, source_url: url }),
      status: 400,
      code: 'URL_NOT_ALLOWED',
      field: 'source_url',
      grpc: registerGrpc({ model_id: `ssrf-grpc/${why.replace(/[^a-z0-9]+/gi, '-')}`, source_url: url }),
      grpcStatus: S.INVALID_ARGUMENT,
    })),
    { name: 'source_url from modelmora.yaml at loopback: the download guard refuses it (lazy download on inference)', rest: infer(text, YAML_LOOPBACK), status: 400, code: 'URL_NOT_ALLOWED', grpc: inferGrpc({ input_data: { text: 'x' } }, YAML_LOOPBACK), grpcStatus: S.INVALID_ARGUMENT },

    // --- body size and framing ---
    { name: 'body over 1 MiB with Content-Length (registry)', rest: { method: 'POST', path: '/models', body: JSON.stringify({ model_id: 'big/body', task_type: 'txt2embed', description: 'x'.repeat(MB + 128 * 1024) }) }, status: 413, code: 'PAYLOAD_TOO_LARGE', risky: true },
    { name: 'chunked body over 1 MiB, no Content-Length (registry)', rest: { method: 'POST', path: '/models', headers: { 'content-type': 'application/json' }, chunks: () => chunked('{"model_id":"big/chunked","task_type":"txt2embed","description":"', MB + 128 * 1024, '"}') }, status: 413, code: 'PAYLOAD_TOO_LARGE', risky: true },
    { name: 'chunked body over 1 MiB, no Content-Length (text inference)', rest: { method: 'POST', path: `/infer/${TEXT}`, headers: { 'content-type': 'application/json' }, chunks: () => chunked('{"input_data":{"text":"', MB + 128 * 1024, '"}}') }, status: 413, code: 'PAYLOAD_TOO_LARGE', risky: true },
    { name: 'body over 1 MiB with Content-Length (text inference); gRPC: a 5 MB message for a text model', rest: infer({ input_data: { text: 'y'.repeat(MB + 128 * 1024) } }), status: 413, code: 'PAYLOAD_TOO_LARGE', grpc: inferGrpc({ input_data: { text: 'y'.repeat(5 * MB) } }), grpcStatus: S.RESOURCE_EXHAUSTED, risky: true },
    { name: 'gRPC message over the transport cap (33 MB)', grpc: inferGrpc({ input_data: { image: Buffer.alloc(33 * MB, 1) } }, IMAGE), code: 'PAYLOAD_TOO_LARGE', grpcStatus: S.RESOURCE_EXHAUSTED, grpcCode: null, risky: true },

    // --- JSON structure ---
    { name: '100,000-deep JSON in parameters; gRPC: a Struct 32 levels deep', rest: infer(`{"input_data":{"text":"x"},"parameters":{"p":${deepJson(100_000)}}}`), status: 400, code: 'VALIDATION_ERROR', field: 'body', grpc: inferGrpc({ input_data: { text: 'x' }, parameters: deepStruct(32) }), grpcStatus: S.INVALID_ARGUMENT, risky: true },
    { name: 'gRPC only: an Infer message nested 300 levels deep (past protobuf\'s own limit of 100)', grpc: { service: 'inference', method: 'Infer', message: () => ({}) }, rawGrpc: () => deepInferMessage(300), code: 'VALIDATION_ERROR', grpcStatus: S.INVALID_ARGUMENT, risky: true },
    { name: '100,000-deep JSON object in a model config', rest: register({ model_id: 'deep/config', config: 'PLACEHOLDER' }), status: 400, code: 'VALIDATION_ERROR', field: 'body', risky: true },
    { name: '__proto__ key in a registration; gRPC: in the config Struct', rest: { method: 'POST', path: '/models', body: '{"model_id":"proto/x","task_type":"txt2embed","config":{"__proto__":{"polluted":true}}}' }, status: 400, code: 'VALIDATION_ERROR', field: 'config.__proto__', grpc: registerGrpc({ model_id: 'proto/grpc', config: { fields: { ['__proto__']: { structValue: { fields: { polluted: { boolValue: true } } } } } } }), grpcStatus: S.INVALID_ARGUMENT },
    { name: 'escaped \\u005f\\u005fproto\\u005f\\u005f key in inference parameters', rest: infer('{"input_data":{"text":"x"},"parameters":{"\\u005f_proto__":{"polluted":true}}}'), status: 400, code: 'VALIDATION_ERROR', field: 'parameters.__proto__' },
    { name: 'constructor.prototype in inference parameters; gRPC too', rest: infer('{"input_data":{"text":"x"},"parameters":{"constructor":{"prototype":{"polluted":true}}}}'), status: 400, code: 'VALIDATION_ERROR', field: 'parameters.constructor.prototype', grpc: inferGrpc({ input_data: { text: 'x' }, parameters: { fields: { constructor: { structValue: { fields: { prototype: { numberValue: 1 } } } } } } }), grpcStatus: S.INVALID_ARGUMENT },
    { name: 'body that is not JSON', rest: infer('{"input_data": {"text": "x"'), status: 400, code: 'VALIDATION_ERROR', field: 'body' },
    { name: 'empty JSON body', rest: { method: 'POST', path: `/infer/${TEXT}`, body: '', headers: { 'content-type': 'application/json' } }, status: 400, code: 'VALIDATION_ERROR', field: 'body' },
    { name: 'unsupported Content-Type', rest: { method: 'POST', path: `/infer/${TEXT}`, body: 'text=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, status: 400, code: 'VALIDATION_ERROR' },

    // --- types are not coerced, enums are closed ---
    { name: 'display_name: 7 is not coerced to "7"', rest: register({ model_id: 'coerce/name', display_name: 7 }), status: 400, code: 'VALIDATION_ERROR', field: 'display_name' },
    { name: 'memory_mb: "12" is not coerced to 12', rest: register({ model_id: 'coerce/memory', resource_requirements: { memory_mb: '12' } }), status: 400, code: 'VALIDATION_ERROR', field: 'resource_requirements.memory_mb' },
    { name: 'unknown task_type', rest: register({ model_id: 'enum/task', task_type: 'txt2sql' }), status: 400, code: 'VALIDATION_ERROR', field: 'task_type', grpc: registerGrpc({ model_id: 'enum/task', task_type: 99 }), grpcStatus: S.INVALID_ARGUMENT },
    { name: 'unknown priority', rest: infer({ ...text, priority: 'urgent' }), status: 400, code: 'VALIDATION_ERROR', field: 'priority', grpc: inferGrpc({ input_data: { text: 'x' }, priority: 7 }), grpcStatus: S.INVALID_ARGUMENT },
    { name: 'unknown status filter', rest: { method: 'GET', path: '/models?status=exploded' }, status: 400, code: 'VALIDATION_ERROR', field: 'status' },
    { name: 'page 0', rest: { method: 'GET', path: '/models?page=0' }, status: 400, code: 'VALIDATION_ERROR', field: 'page' },
    { name: 'stream: "yes"', rest: infer({ ...text, stream: 'yes' }), status: 400, code: 'VALIDATION_ERROR', field: 'stream' },
    { name: 'job id that is not a uuid', rest: { method: 'GET', path: '/jobs/..%2F..%2Fetc%2Fpasswd' }, status: 400, code: 'VALIDATION_ERROR', grpc: { service: 'inference', method: 'GetJobStatus', message: () => ({ job_id: '../../etc/passwd' }) }, grpcStatus: S.INVALID_ARGUMENT },

    // --- timeouts ---
    { name: 'timeout_seconds -1', rest: infer({ ...text, timeout_seconds: -1 }), status: 400, code: 'VALIDATION_ERROR', field: 'timeout_seconds', grpc: inferGrpc({ input_data: { text: 'x' }, timeout_seconds: -1 }), grpcStatus: S.INVALID_ARGUMENT },
    { name: 'timeout_seconds "NaN"', rest: infer({ ...text, timeout_seconds: 'NaN' }), status: 400, code: 'VALIDATION_ERROR', field: 'timeout_seconds' },
    { name: 'timeout_seconds 1e9', rest: infer({ ...text, timeout_seconds: 1e9 }), status: 400, code: 'VALIDATION_ERROR', field: 'timeout_seconds', grpc: inferGrpc({ input_data: { text: 'x' }, timeout_seconds: 1e9 }), grpcStatus: S.INVALID_ARGUMENT },
    { name: 'timeout_seconds "60" (a string)', rest: infer({ ...text, timeout_seconds: '60' }), status: 400, code: 'VALIDATION_ERROR', field: 'timeout_seconds' },
    { name: 'timeout_seconds 0 and 601', rest: infer({ ...text, timeout_seconds: 601 }), status: 400, code: 'VALIDATION_ERROR', field: 'timeout_seconds', grpc: inferGrpc({ input_data: { text: 'x' }, timeout_seconds: 601 }), grpcStatus: S.INVALID_ARGUMENT },
    { name: 'timeout_seconds 1.5', rest: infer({ ...text, timeout_seconds: 1.5 }), status: 400, code: 'VALIDATION_ERROR', field: 'timeout_seconds' },

    // --- sizes of inputs ---
    { name: '10,000 inputs', rest: infer({ input_data: { text: Array.from({ length: 10_000 }, () => 'w') } }), status: 413, code: 'BATCH_SIZE_EXCEEDED', grpc: inferGrpc({ input_data: { text_batch: { texts: Array.from({ length: 10_000 }, () => 'w') } } }), grpcStatus: S.INVALID_ARGUMENT, risky: true },
    { name: 'a 1,000,000-character text', rest: infer({ input_data: { text: 'z'.repeat(1_000_000) } }), status: 400, code: 'VALIDATION_ERROR', field: 'input_data.text', grpc: inferGrpc({ input_data: { text: 'z'.repeat(1_000_000) } }), grpcStatus: S.INVALID_ARGUMENT, risky: true },
    { name: 'an empty list of texts', rest: infer({ input_data: { text: [] } }), status: 400, code: 'VALIDATION_ERROR', field: 'input_data.text' },

    // --- images ---
    { name: 'bad base64 image; gRPC: 4 random bytes as the image', rest: infer({ input_data: { image: 'not base64 at all!' } }, IMAGE), status: 400, code: 'INVALID_INPUT', field: 'input_data.image', grpc: inferGrpc({ input_data: { image: Buffer.from([1, 2, 3, 4]) } }, IMAGE), grpcStatus: S.INVALID_ARGUMENT },
    { name: `a 20000x20000 PNG header in ${png20k.length} bytes`, rest: infer({ input_data: { image: png20k.toString('base64') } }, IMAGE), status: 400, code: 'INVALID_INPUT', field: 'input_data.image', grpc: inferGrpc({ input_data: { image: png20k } }, IMAGE), grpcStatus: S.INVALID_ARGUMENT, risky: true },
    { name: 'a truncated PNG behind a valid header', rest: infer({ input_data: { image: goodPng.subarray(0, 40).toString('base64') } }, IMAGE), status: 400, code: 'INVALID_INPUT', grpc: inferGrpc({ input_data: { image: goodPng.subarray(0, 40) } }, IMAGE), grpcStatus: S.INVALID_ARGUMENT },
    { name: 'an image URL (never fetched)', rest: infer({ input_data: { image: 'http://169.254.169.254/latest/meta-data/x.png' } }, IMAGE), status: 400, code: 'VALIDATION_ERROR', field: 'input_data.image' },
    { name: 'a data URL that is not an image', rest: infer({ input_data: { image: 'data:text/html;base64,PHNjcmlwdD4=' } }, IMAGE), status: 400, code: 'INVALID_INPUT', field: 'input_data.image' },
    { name: 'text for an image model', rest: infer(text, IMAGE), status: 400, code: 'INVALID_INPUT', grpc: inferGrpc({ input_data: { text: 'x' } }, IMAGE), grpcStatus: S.INVALID_ARGUMENT },
    { name: 'text and image together', rest: infer({ input_data: { text: 'x', image: goodPng.toString('base64') } }), status: 400, code: 'VALIDATION_ERROR', field: 'input_data' },

    // --- access (README "Security") ---
    { name: 'no token', rest: { ...infer(text), auth: null }, status: 401, code: 'UNAUTHORIZED', grpc: { ...inferGrpc({ input_data: { text: 'x' } }), auth: null }, grpcStatus: S.UNAUTHENTICATED },
    { name: 'an empty token', rest: { ...infer(text), auth: 'Bearer ' }, status: 401, code: 'UNAUTHORIZED', grpc: { ...inferGrpc({ input_data: { text: 'x' } }), auth: 'Bearer ' }, grpcStatus: S.UNAUTHENTICATED },
    { name: 'a wrong token', rest: { ...infer(text), auth: bearer('not-a-known-token-000000000') }, status: 401, code: 'UNAUTHORIZED', grpc: { ...inferGrpc({ input_data: { text: 'x' } }), auth: bearer('not-a-known-token-000000000') }, grpcStatus: S.UNAUTHENTICATED },
    { name: 'a token under another scheme (Basic)', rest: { ...infer(text), auth: `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}` }, status: 401, code: 'UNAUTHORIZED' },
    { name: 'the admin token in the query string (never accepted)', rest: { method: 'GET', path: `/models?access_token=${ADMIN_TOKEN}`, auth: null }, status: 401, code: 'UNAUTHORIZED' },
    { name: 'the admin token as ?token=', rest: { method: 'POST', path: `/infer/${TEXT}?token=${ADMIN_TOKEN}`, body: text, auth: null }, status: 401, code: 'UNAUTHORIZED' },
    { name: 'wrong scope: an inference token registers a model', rest: { ...register({ model_id: 'scope/register' }), auth: bearer(INFERENCE_TOKEN) }, status: 403, code: 'FORBIDDEN', grpc: { ...registerGrpc({ model_id: 'scope/register' }), auth: bearer(INFERENCE_TOKEN) }, grpcStatus: S.PERMISSION_DENIED },
    { name: 'wrong scope: an inference token deletes a model', rest: { method: 'DELETE', path: `/models/${TEXT}`, auth: bearer(INFERENCE_TOKEN) }, status: 403, code: 'FORBIDDEN', grpc: { service: 'registry', method: 'DeleteModel', message: () => ({ model_id: TEXT }), auth: bearer(INFERENCE_TOKEN) }, grpcStatus: S.PERMISSION_DENIED },
    { name: 'wrong scope: an inference token loads a model', rest: { method: 'POST', path: `/models/${TEXT}/load`, auth: bearer(INFERENCE_TOKEN) }, status: 403, code: 'FORBIDDEN', grpc: { service: 'management', method: 'LoadModel', message: () => ({ model_id: TEXT }), auth: bearer(INFERENCE_TOKEN) }, grpcStatus: S.PERMISSION_DENIED },
    { name: 'a foreign Host header on a loopback bind (DNS rebinding)', rest: { method: 'GET', path: '/models', headers: { host: 'attacker.example.com' } }, status: 403, code: 'FORBIDDEN' },
    { name: 'a cross-origin DELETE (CORS off)', rest: { method: 'DELETE', path: `/models/${TEXT}`, headers: { origin: 'https://attacker.example.com' } }, status: 403, code: 'FORBIDDEN' },
  ];
}

/** `prefix` + `bytes` of filler in 64 KB chunks + `suffix`, lazily (the server may stop reading). */
function* chunked(prefix: string, bytes: number, suffix: string): Iterable<string> {
  yield prefix;
  const piece = 'c'.repeat(64 * 1024);
  for (let sent = 0; sent < bytes; sent += piece.length) yield piece;
  yield suffix;
}

let daemon: DaemonProcess;
let grpcClient: GrpcClients;
let goodPng: Buffer;
/** Every error answer seen (REST bodies, gRPC details and trailers), for the hygiene check. */
const errorTexts: string[] = [];
const outcomes = new Map<string, number>();

before(async () => {
  daemon = await startDaemon({
    models: [
      { id: TEXT, task: 'txt2embed', source: `${FIXTURE_MODELS}glove-2k` },
      { id: IMAGE, task: 'img2embed', source: `${FIXTURE_MODELS}plumbing-vit-tiny` },
      { id: YAML_LOOPBACK, task: 'txt2embed', source: 'https://127.0.0.1:9/model' },
      { id: YAML_METADATA, task: 'txt2embed', source: 'https://169.254.169.254/latest/model' },
    ],
    env: { MODELMORA_TOKENS: `admin:${ADMIN_TOKEN},inference:${INFERENCE_TOKEN}` },
  });
  grpcClient = grpcClients(daemon.grpcPort!, { 'grpc.max_send_message_length': 64 * MB, 'grpc.max_receive_message_length': 64 * MB });
  goodPng = await solidImage('png', 16, 16);
});

after(async () => {
  grpcClient?.close();
  if (daemon) {
    await daemon.stop();
    await fs.rm(path.dirname(daemon.home), { recursive: true, force: true });
  }
});

/** A unary InferenceService call with hand-made request bytes; resolves with the failure. */
function rawGrpcFail(method: string, bytes: Uint8Array, headers: Record<string, string>): Promise<{ code: number; details: string; trailers: Record<string, string> }> {
  const client = new grpc.Client(`127.0.0.1:${daemon.grpcPort}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(`/modelmora.v1.InferenceService/${method}`, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), metadata, (err) => {
      client.close();
      if (!err) return reject(new Error(`${method} succeeded`));
      const trailers: Record<string, string> = {};
      for (const [k, v] of Object.entries(err.metadata?.getMap() ?? {})) trailers[k] = String(v);
      resolve({ code: err.code, details: err.details, trailers });
    });
  });
}

const ADMIN = { authorization: bearer(ADMIN_TOKEN) };

async function stillServes(): Promise<void> {
  assert.equal(daemon.child.exitCode, null, 'the daemon is still running');
  const live = await call(daemon.api, 'GET', '/health/live');
  assert.equal(live.status, 200, live.text);
  const good = await call(daemon.api, 'POST', `/infer/${TEXT}`, { input_data: { text: 'the daemon still serves' } }, ADMIN);
  assert.equal(good.status, 200, good.text);
  assert.ok(((good.body['output_data'] as { embedding: number[] }).embedding).length > 0);
}

/**
 * A server that refuses a body answers and closes while the client may still be sending; the
 * client's kernel can then drop the answer on the connection reset (EPIPE / ECONNRESET before
 * any response). Oversized bodies are therefore only a little over the limit, and such a
 * transport reset, which says nothing about the daemon, is retried once.
 */
async function sendRest(rest: RestCase): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  try {
    return await sendRestOnce(rest);
  } catch (err) {
    if (!['EPIPE', 'ECONNRESET'].includes(String((err as NodeJS.ErrnoException).code))) throw err;
    return sendRestOnce(rest);
  }
}

async function sendRestOnce(rest: RestCase): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const url = `${daemon.api}${rest.path}`;
  let body = rest.body;
  if (body === 'PLACEHOLDER') body = undefined;
  const auth = rest.auth === undefined ? bearer(ADMIN_TOKEN) : rest.auth;
  const headers: Record<string, string> = { ...(auth !== null && { authorization: auth }), ...rest.headers };
  if (rest.chunks) return rawRequest(url, { method: rest.method, headers, chunks: rest.chunks() });
  if (body === undefined) return rawRequest(url, { method: rest.method, headers });
  headers['content-type'] ??= 'application/json';
  return rawRequest(url, { method: rest.method, headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('the bad-input table', () => {
  test('has at least 40 rows', async () => {
    const table = rows(pngDeclaring(20000, 20000), await solidImage('png', 16, 16));
    assert.ok(table.length >= 40, `${table.length} rows`);
  });

  test('every row: the expected status, gRPC code and error_code, and the daemon keeps serving', async () => {
    const table = rows(pngDeclaring(20000, 20000), goodPng);
    // The deep config is built here so the table stays readable.
    const deepConfig = `{"model_id":"deep/config","task_type":"txt2embed","config":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    let restRuns = 0;
    let grpcRuns = 0;
    for (const row of table) {
      if (row.rest) {
        const rest = row.name.startsWith('100,000-deep JSON object') ? { ...row.rest, body: deepConfig } : row.rest;
        const reply = await sendRest(rest).catch((err: Error) => {
          throw new Error(`${row.name} (REST): ${err.message}`);
        });
        errorTexts.push(reply.text);
        assert.equal(reply.status, row.status, `${row.name} (REST): ${reply.text.slice(0, 300)}`);
        const body = JSON.parse(reply.text) as Json;
        assert.equal(body['error_code'], row.code, `${row.name} (REST): ${reply.text.slice(0, 300)}`);
        assert.match(String(body['trace_id']), /^[0-9a-f-]{36}$/, row.name);
        if (row.field) {
          const fields = ((body['validation_errors'] as Array<{ field: string }> | undefined) ?? []).map((f) => f.field);
          assert.ok(fields.includes(row.field), `${row.name}: fields ${fields.join(', ')} lack ${row.field}`);
        }
        outcomes.set(`REST ${reply.status} ${row.code}`, (outcomes.get(`REST ${reply.status} ${row.code}`) ?? 0) + 1);
        restRuns++;
      }
      if (row.grpc) {
        const auth = row.grpc.auth === undefined ? bearer(ADMIN_TOKEN) : row.grpc.auth;
        const metadata: Record<string, string> = auth === null ? {} : { authorization: auth };
        const send = row.rawGrpc ? rawGrpcFail(row.grpc.method, row.rawGrpc(), metadata) : grpcClient.fail(row.grpc.service, row.grpc.method, row.grpc.message(), { metadata });
        const failure = await send.catch((err: Error) => {
          throw new Error(`${row.name} (gRPC): ${err.message}`);
        });
        errorTexts.push(failure.details, JSON.stringify(failure.trailers));
        assert.equal(failure.code, row.grpcStatus, `${row.name} (gRPC): ${failure.code} ${failure.details}`);
        const expected = row.grpcCode === undefined ? row.code : row.grpcCode;
        assert.equal(failure.trailers['error_code'], expected ?? undefined, `${row.name} (gRPC): ${failure.details}`);
        const key = `gRPC ${failure.code} ${expected ?? '(transport)'}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        grpcRuns++;
      }
      if (row.risky) await stillServes();
    }
    await stillServes();
    const grpcGood = await grpcClient.call<{ output_data: { embedding: { values: number[] } } }>('inference', 'Infer', { model_id: TEXT, input_data: { text: 'gRPC still serves' } }, { metadata: { authorization: bearer(INFERENCE_TOKEN) } });
    assert.ok(grpcGood.response.output_data.embedding.values.length > 0);
    console.log(`bad-input table: ${table.length} rows, ${restRuns} REST and ${grpcRuns} gRPC calls; outcomes ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}`);
  });

  test('a seeded source_url at the metadata address: the download answers 202, then fails with the guard\'s reason', async () => {
    const started = await call(daemon.api, 'POST', `/models/${YAML_METADATA}/download`, undefined, ADMIN);
    assert.equal(started.status, 202, started.text);
    const failed = await waitFor('the download to fail', async () => {
      const r = await call(daemon.api, 'GET', `/models/${YAML_METADATA}`, undefined, ADMIN);
      return r.body['status'] === 'failed' ? r : undefined;
    });
    assert.match(String(failed.body['error']), /source_url not allowed: address 169\.254\.169\.254 is private, loopback or reserved/);
    errorTexts.push(failed.text);
  });

  test('/models/<path> answers the same whether or not such a file exists', async () => {
    await fs.writeFile(path.join(daemon.home, 'secret.txt'), 'secret');
    const pairs: Array<[string, string]> = [
      ['/models/etc/passwd', '/models/etc/no-such-file-here'],
      ['/models/..%2F..%2Fetc%2Fpasswd', '/models/..%2F..%2Fetc%2Fno-such-file-here'],
      ['/models/..%2Fsecret.txt', '/models/..%2Fno-such-secret.txt'],
      ['/models/cache/models--bi--text', '/models/cache/models--no--such'],
      ['/infer/..%2F..%2Fetc%2Fpasswd', '/infer/..%2F..%2Fetc%2Fno-such-file-here'],
    ];
    for (const [existing, missing] of pairs) {
      const a = await call(daemon.api, existing.startsWith('/infer') ? 'POST' : 'GET', existing, existing.startsWith('/infer') ? text : undefined, ADMIN);
      const b = await call(daemon.api, missing.startsWith('/infer') ? 'POST' : 'GET', missing, missing.startsWith('/infer') ? text : undefined, ADMIN);
      errorTexts.push(a.text, b.text);
      assert.equal(a.status, b.status, `${existing} vs ${missing}`);
      assert.ok(a.status === 400 || a.status === 404, `${existing}: ${a.status}`);
      assert.equal(a.body['error_code'], b.body['error_code']);
      const shape = (r: typeof a, p: string) => String(r.body['message']).replace(decodeURIComponent(p.split('/').slice(2).join('/')), '<id>');
      assert.equal(shape(a, existing), shape(b, missing), `${existing} vs ${missing}`);
    }
  });
});

describe('error hygiene', () => {
  test('no error answer or daemon log line at info level or above holds a path, a home folder or a stack', () => {
    assert.ok(errorTexts.length >= 60, `${errorTexts.length} answers collected`);
    const forbidden: Array<[string, RegExp | string]> = [
      ['home folder', os.homedir()],
      ['temp folder', os.tmpdir()],
      ['daemon home', daemon.home],
      ['project folder', daemon.dir],
      ['repository path', '/work/'],
      ['stack frame', /\bat (?:[\w.<>]+ )?\(?(?:file:\/\/|\/|node:)[^)\s]*:\d+:\d+/],
      ['node_modules', 'node_modules'],
      ['admin token', ADMIN_TOKEN],
      ['inference token', INFERENCE_TOKEN],
    ];
    const check = (where: string, text: string) => {
      for (const [what, pattern] of forbidden) {
        const hit = typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
        assert.ok(!hit, `${where} holds a ${what}: ${text.slice(0, 400)}`);
      }
    };
    for (const text of errorTexts) check('an error answer', text);
    const lines = daemon.logs.filter((l) => typeof l['level'] === 'number' && (l['level'] as number) >= 30);
    assert.ok(lines.length > 0);
    for (const line of lines) check(`a log line (level ${String(line['level'])})`, JSON.stringify(line));
    assert.deepEqual(lines.filter((l) => (l['level'] as number) >= 50), [], 'no error-level line (no unexpected failure)');
  });
});
