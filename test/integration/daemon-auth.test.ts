import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ModelMoraClient } from '../../src/client/client.js';
import { createGrpcClients } from '../../src/client/grpc-client.js';
import { ModelMoraError } from '../../src/domain/errors.js';
import { cliWorld, type CliWorld } from '../support/cli-run.js';
import { call, waitFor } from '../support/daemon-http.js';
import { FIXTURE_MODELS, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { grpc, grpcClients, type GrpcClients } from '../support/grpc-client.js';
import { selfSignedCert, type TestCert } from '../support/tls-cert.js';

/**
 * Auth and safe defaults against REAL daemons (child processes on 127.0.0.1): tokens from the
 * environment and from `modelmora token create`, 401/403 over REST and gRPC, the Host guard,
 * CORS, job owners, the CLI sending MODELMORA_TOKEN; TLS for REST and gRPC with a self-signed
 * certificate; and the setups that must refuse to start.
 */

const ADMIN = 'admin-token-for-the-daemon-0123';
const INFER = 'inference-token-for-daemon-0123';
const MODEL = 'test/glove';
const S = grpc.status;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A GET with any Host header (fetch will not send a made-up Host). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a daemon with tokens', () => {
  let root: string;
  let w: CliWorld;
  let d: DaemonProcess;
  let g: GrpcClients;
  let cliToken: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'modelmora-auth-daemon-'));
    w = await cliWorld();
    const home = path.join(root, 'home');
    const made = await w.run(['--home', home, 'token', 'create', '--scope', 'inference', '--name', 'cli-made']);
    assert.equal(made.code, 0, made.stderr);
    cliToken = made.stdout.trim();
    assert.match(cliToken, /^mm_[A-Za-z0-9_-]{43}$/);
    d = await startDaemon({
      home,
      dir: path.join(root, 'project'),
      models: [{ id: MODEL, task: 'txt2embed', source: `${FIXTURE_MODELS}glove-2k` }],
      server: { cors_origins: ['https://app.example'] },
      env: { MODELMORA_TOKENS: `admin:ops:${ADMIN},inference:ci:${INFER}` },
    });
    g = grpcClients(d.grpcPort!);
  });

  after(async () => {
    g?.close();
    await d?.stop();
    await w?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  test('REST: probes open; 401 without a token; 403 for too small a scope; tokens from the env and from token create work', async () => {
    assert.equal((await call(d.url, 'GET', '/health/live')).status, 200);
    assert.equal((await call(d.url, 'GET', '/health/ready')).status, 200);
    assert.equal((await call(d.url, 'GET', '/metrics')).status, 200);

    const none = await call(d.api, 'GET', '/models');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="modelmora"');
    assert.equal(none.body['error_code'], 'UNAUTHORIZED');
    assert.equal((await call(d.api, 'GET', '/models', undefined, { authorization: 'Bearer ' })).status, 401);
    assert.equal((await call(d.api, 'GET', '/models', undefined, bearer('mm_not-a-token-of-this-daemon'))).status, 401);
    assert.equal((await call(d.api, 'GET', `/models?token=${ADMIN}`, undefined, bearer(ADMIN))).status, 401, 'a token in the URL is refused');

    for (const token of [INFER, cliToken, ADMIN]) assert.equal((await call(d.api, 'GET', '/models', undefined, bearer(token))).status, 200);
    const register = { model_id: 'org/registered', task_type: 'txt2embed' };
    const forbidden = await call(d.api, 'POST', '/models', register, bearer(INFER));
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body['error_code'], 'FORBIDDEN');
    assert.equal((await call(d.api, 'POST', '/models', register, bearer(cliToken))).status, 403);
    assert.equal((await call(d.api, 'POST', '/models', register, bearer(ADMIN))).status, 201);
    assert.equal((await call(d.api, 'POST', `/models/${encodeURIComponent(MODEL)}/load`, undefined, bearer(INFER))).status, 403);

    const inferred = await call<{ output_data: { embedding: number[] } }>(d.api, 'POST', `/infer/${encodeURIComponent(MODEL)}`, { input_data: { text: 'the cat' } }, bearer(cliToken));
    assert.equal(inferred.status, 200, inferred.text);
    assert.ok(inferred.body.output_data.embedding.length > 0);
  });

  test('REST: a foreign Host is 403 (DNS rebinding); loopback names are served', async () => {
    const port = new URL(d.url).port;
    const foreign = await rawGet(`${d.url}/health/live`, { host: `rebind.attacker.example:${port}` });
    assert.equal(foreign.status, 403);
    assert.equal(JSON.parse(foreign.body).error_code, 'FORBIDDEN');
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) assert.equal((await rawGet(`${d.url}/health/live`, { host })).status, 200, host);
  });

  test('REST: CORS preflight answered for cors_origins only; a cross-origin DELETE is refused', async () => {
    const preflight = (origin: string) =>
      call(d.api, 'OPTIONS', `/models/${encodeURIComponent(MODEL)}`, undefined, { origin, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' });
    const allowed = await preflight('https://app.example');
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
    const denied = await preflight('https://evil.example');
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get('access-control-allow-origin'), null);
    const crossDelete = await call(d.api, 'DELETE', '/models/org%2Fregistered', undefined, { ...bearer(ADMIN), origin: 'https://evil.example' });
    assert.equal(crossDelete.status, 403);
    assert.equal((await call(d.api, 'GET', '/models/org%2Fregistered', undefined, bearer(ADMIN))).status, 200, 'still there');
  });

  test('gRPC: the same rules, UNAUTHENTICATED / PERMISSION_DENIED with error_code; health open', async () => {
    assert.equal((await g.call<{ status: string }>('health', 'Check', { service: '' })).response.status, 'SERVING');
    assert.equal((await g.call<{ status: string }>('management', 'LivenessCheck', {})).response.status, 'ok');
    const none = await g.fail('registry', 'ListModels', {});
    assert.equal(none.code, S.UNAUTHENTICATED);
    assert.equal(none.trailers['error_code'], 'UNAUTHORIZED');
    assert.ok(((await g.call<{ models: unknown[] }>('registry', 'ListModels', {}, { metadata: bearer(cliToken) })).response.models).length >= 1);
    const denied = await g.fail('management', 'LoadModel', { model_id: MODEL }, { metadata: bearer(INFER) });
    assert.equal(denied.code, S.PERMISSION_DENIED);
    assert.equal(denied.trailers['error_code'], 'FORBIDDEN');
    const infer = await g.call<{ output_data: { embedding: { values: number[] } } }>('inference', 'Infer', { model_id: MODEL, input_data: { text: 'a dog' } }, { metadata: bearer(INFER) });
    assert.ok(infer.response.output_data);
  });

  test('jobs: another inference token sees 404 JOB_NOT_FOUND for a job it did not submit; admin sees it', async () => {
    const submitted = await call<{ job_id: string }>(d.api, 'POST', `/infer/${encodeURIComponent(MODEL)}/async`, { input_data: { text: 'a job' } }, bearer(INFER));
    assert.equal(submitted.status, 202);
    const id = submitted.body.job_id;
    await waitFor('the job to complete', async () => ((await call(d.api, 'GET', `/jobs/${id}`, undefined, bearer(INFER))).body['status'] === 'completed' ? true : undefined), 400);
    const other = await call(d.api, 'GET', `/jobs/${id}`, undefined, bearer(cliToken));
    assert.equal(other.status, 404);
    assert.equal(other.body['error_code'], 'JOB_NOT_FOUND');
    assert.equal((await call(d.api, 'DELETE', `/jobs/${id}`, undefined, bearer(cliToken))).status, 404);
    assert.equal((await call(d.api, 'GET', `/jobs/${id}/result`, undefined, bearer(ADMIN))).status, 200);
    const grpcOther = await g.fail('inference', 'GetJobStatus', { job_id: id }, { metadata: bearer(cliToken) });
    assert.equal(grpcOther.trailers['error_code'], 'JOB_NOT_FOUND');
  });

  test('the CLI sends MODELMORA_TOKEN; without it the daemon commands fail with the daemon\'s error', async () => {
    const ok = await w.run(['--url', d.url, 'status', '--json'], { MODELMORA_TOKEN: INFER });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(JSON.parse(ok.stdout).version);
    const missing = await w.run(['--url', d.url, 'status']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /UNAUTHORIZED/);
    const scope = await w.run(['--url', d.url, 'load', MODEL], { MODELMORA_TOKEN: INFER });
    assert.equal(scope.code, 1);
    assert.match(scope.stderr, /admin scope.*FORBIDDEN/);
  });

  test('token rm revokes a token of the running daemon without a restart', async () => {
    const rmResult = await w.run(['--home', d.home, 'token', 'rm', 'cli-made']);
    assert.equal(rmResult.code, 0, rmResult.stderr);
    await waitFor('the removed token to be refused', async () => ((await call(d.api, 'GET', '/models', undefined, bearer(cliToken))).status === 401 ? true : undefined), 200);
    assert.equal((await call(d.api, 'GET', '/models', undefined, bearer(INFER))).status, 200);
  });

  test('no token reaches the daemon log', () => {
    const text = JSON.stringify(d.logs) + d.stderr();
    for (const token of [ADMIN, INFER, cliToken]) assert.ok(!text.includes(token), 'a token was logged');
    const security = d.logs.find((l) => l['msg'] === 'modelmora security');
    assert.deepEqual(security?.['auth'], ['tokens setting (2)', 'tokens.json (1)']);
  });
});

describe('a daemon with TLS', () => {
  let root: string;
  let cert: TestCert;
  let d: DaemonProcess;
  let w: CliWorld;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'modelmora-tls-daemon-'));
    cert = await selfSignedCert(root);
    w = await cliWorld();
    d = await startDaemon({ server: { tls_cert: cert.certFile, tls_key: cert.keyFile } });
  });
  after(async () => {
    await d?.stop();
    await w?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  test('REST serves https only, to a client that trusts the certificate', async () => {
    assert.match(d.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const client = new ModelMoraClient({ baseUrl: d.url, ca: cert.cert });
    try {
      assert.deepEqual(await client.health.live(), { status: 'ok' });
      assert.ok((await client.status()).version);
    } finally {
      await client.close();
    }
    await assert.rejects(fetch(`${d.url}/health/live`), 'an untrusting client refuses the self-signed certificate');
    await assert.rejects(fetch(`${d.url.replace('https:', 'http:')}/health/live`), 'no plaintext on the TLS port');
  });

  test('gRPC serves TLS only, to a client that trusts the certificate', async () => {
    const secure = await createGrpcClients(`127.0.0.1:${d.grpcPort}`, { tls: { ca: cert.cert }, env: {} });
    const insecure = await createGrpcClients(`127.0.0.1:${d.grpcPort}`, { env: {} });
    try {
      assert.equal(((await secure.management.livenessCheck({})) as { status: string }).status, 'ok');
      await assert.rejects(insecure.management.livenessCheck({}, { timeoutMs: 3000 }), (err: unknown) => err instanceof ModelMoraError);
    } finally {
      secure.close();
      insecure.close();
    }
  });

  test('the CLI reaches it with NODE_EXTRA_CA_CERTS', async () => {
    const res = await w.run(['--url', d.url, 'status', '--json'], { NODE_EXTRA_CA_CERTS: cert.certFile });
    assert.equal(res.code, 0, res.stderr);
    assert.ok(JSON.parse(res.stdout).version);
  });
});

describe('serve from the CLI: a detached TLS daemon, and setups that refuse to start', () => {
  let w: CliWorld;
  let cert: TestCert;
  before(async () => {
    w = await cliWorld();
    cert = await selfSignedCert(w.dir);
  });
  after(async () => {
    await w?.run(['stop']);
    await w?.cleanup();
  });

  test('is seen ready through its own certificate, without NODE_EXTRA_CA_CERTS, and stops', async () => {
    const started = await w.run(['serve', '--detach', '--port', '0', '--grpc-port', '0', '--tls-cert', cert.certFile, '--tls-key', cert.keyFile]);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /^ModelMora running in the background \(pid \d+\)\n  REST  https:\/\/127\.0\.0\.1:\d+\/api\/v1\n/);
    const url = /REST {2}(https:\S+)\/api\/v1/.exec(started.stdout)![1]!;
    await assert.rejects(fetch(`${url}/health/live`), 'the daemon really serves the self-signed certificate');
    const stopped = await w.run(['stop']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(await w.exists('../home/daemon.pid'), false);
  });

  test('a non-loopback bind without any token source exits non-zero with a clear message, before listening', async () => {
    const res = await w.run(['serve', '--host', '0.0.0.0', '--port', '0', '--grpc-port', '0']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /Refusing to listen on 0\.0\.0\.0 without authentication: a non-loopback address needs tokens/);
    assert.match(res.stderr, /modelmora token create --scope admin/);
    assert.equal(await w.exists('../home/daemon.pid'), false, 'it never took the home');
  });

  test('a missing certificate file refuses to start instead of serving plaintext', async () => {
    const res = await w.run(['serve', '--port', '0', '--grpc-port', '0', '--tls-cert', path.join(w.dir, 'missing.pem'), '--tls-key', cert.keyFile]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /tls_cert: the file cannot be read \(ENOENT\); not starting without TLS/);
    assert.ok(!res.stderr.includes(w.dir), 'no absolute path in the message');
  });
});
