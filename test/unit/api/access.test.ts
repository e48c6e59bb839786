import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { restLoggerOptions } from '../../../src/api/rest/access.js';
import { hostPolicy } from '../../../src/auth/network-policy.js';
import { ACCESS_LEVELS } from '../../../src/auth/principal.js';
import { DurableJobService } from '../../../src/jobs/job-service.js';
import { LogJobStore } from '../../../src/jobs/log-job-store.js';
import { settle } from '../../fixtures/manual-clock.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { testApp, type TestApp } from '../../support/rest-app.js';
import { ADMIN, ALICE, BOB, principalsAuthenticator } from '../../support/principals.js';

/** Access control of the REST skin through app.inject: the route table, tokens, Host, Origin, CORS, job owners. */

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * Every route the app serves and what it needs. A route added without an entry here fails the
 * completeness test, so each new route's access is a decision, not an accident.
 */
const EXPECTED: Record<string, string> = {
  'OPTIONS *': 'public',
  'GET /api/v1/openapi.json': 'public',
  'POST /api/v1/models': 'admin',
  'GET /api/v1/models': 'inference',
  'POST /api/v1/models/lock': 'admin',
  'GET /api/v1/models/lock': 'inference',
  'GET /api/v1/models/:model_id': 'inference',
  'GET /api/v1/models/:org/:name': 'inference',
  'PUT /api/v1/models/:model_id': 'admin',
  'PUT /api/v1/models/:org/:name': 'admin',
  'DELETE /api/v1/models/:model_id': 'admin',
  'DELETE /api/v1/models/:org/:name': 'admin',
  'POST /api/v1/models/:model_id/download': 'admin',
  'POST /api/v1/models/:org/:name/download': 'admin',
  'POST /api/v1/models/:model_id/load': 'admin',
  'POST /api/v1/models/:org/:name/load': 'admin',
  'POST /api/v1/models/:model_id/unload': 'admin',
  'POST /api/v1/models/:org/:name/unload': 'admin',
  'POST /api/v1/infer/:model_id': 'inference',
  'POST /api/v1/infer/:org/:name': 'inference',
  'POST /api/v1/infer/:model_id/async': 'inference',
  'POST /api/v1/infer/:org/:name/async': 'inference',
  'GET /api/v1/artifacts/:id': 'inference',
  'GET /api/v1/jobs': 'inference',
  'GET /api/v1/jobs/:job_id': 'inference',
  'GET /api/v1/jobs/:job_id/result': 'inference',
  'DELETE /api/v1/jobs/:job_id': 'inference',
  'GET /api/v1/status': 'inference',
  'GET /api/v1/health/live': 'public',
  'GET /api/v1/health/ready': 'public',
  'GET /api/v1/health/models': 'public',
  'GET /health/live': 'public',
  'GET /health/ready': 'public',
  'GET /health/models': 'public',
  'GET /api/v1/metrics': 'metrics',
  'GET /metrics': 'metrics',
};

describe('REST access control', () => {
  let t: TestApp;
  let dir: string;
  let store: LogJobStore;
  let jobs: DurableJobService;
  const logLines: string[] = [];

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'modelmora-rest-access-'));
    store = await LogJobStore.open(path.join(dir, 'jobs'));
    const engine = new FakeEngine();
    jobs = new DurableJobService({ engine, store, retentionMs: 3_600_000 });
    const auth = await principalsAuthenticator(dir);
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(chunk.toString());
        callback();
      },
    });
    t = await testApp({
      engine,
      jobs,
      logger: { ...(restLoggerOptions('info') as object), stream },
      security: { auth, hosts: hostPolicy('127.0.0.1', ['models.internal']), corsOrigins: ['https://app.example'] },
    });
    await t.registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    await t.registry.register({ model_id: 'org/other', task_type: 'txt2embed' });
    await t.app.ready();
  });
  after(async () => {
    await jobs.drain();
    await store.close();
    await t.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('every route declares an access level, and the table is exactly the expected one', () => {
    const table = t.app.accessTable;
    for (const route of table) assert.ok((ACCESS_LEVELS as readonly string[]).includes(route.access), `${route.method} ${route.url}`);
    const served = new Map(table.filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/docs')).map((r) => [`${r.method} ${r.url}`, r.access]));
    assert.deepEqual(Object.fromEntries([...served].sort()), Object.fromEntries(Object.entries(EXPECTED).sort()));
    // HEAD routes fastify adds carry their GET's level; Swagger UI pages are public.
    for (const route of table) {
      if (route.method === 'HEAD' && !route.url.startsWith('/docs')) assert.equal(route.access, served.get(`GET ${route.url}`), route.url);
      if (route.url.startsWith('/docs')) assert.equal(route.access, 'public', route.url);
    }
  });

  it('the OpenAPI document asks for a Bearer token except on open routes', async () => {
    const doc = (await t.app.inject({ url: '/api/v1/openapi.json', headers: { host: 'localhost' } })).json<{
      security: unknown;
      paths: Record<string, Record<string, { security?: unknown }>>;
    }>();
    assert.deepEqual(doc.security, [{ BearerAuth: [] }]);
    assert.deepEqual(doc.paths['/health/live']!['get']!.security, []);
    assert.deepEqual(doc.paths['/metrics']!['get']!.security, []);
    assert.equal(doc.paths['/models']!['post']!.security, undefined, 'inherits the document-wide Bearer requirement');
  });

  it('a route without a declared access level is refused when it is added (fail closed)', async () => {
    const other = await testApp();
    try {
      assert.throws(() => other.app.get('/api/v1/undeclared', async () => 'open?'), /declares no access level/);
      other.app.get('/api/v1/declared', { config: { access: 'admin' } }, async () => 'ok');
      await other.app.ready();
      assert.equal((await other.app.inject({ url: '/api/v1/undeclared' })).statusCode, 404);
    } finally {
      await other.close();
    }
  });

  it('answers each route by token: none 401, too small a scope 403, enough 2xx', async () => {
    const cases: Array<{ method: 'GET' | 'POST' | 'PUT' | 'DELETE'; url: string; payload?: object; expect: [number, number, number] }> = [
      { method: 'GET', url: '/health/live', expect: [200, 200, 200] },
      { method: 'GET', url: '/api/v1/health/ready', expect: [200, 200, 200] },
      { method: 'GET', url: '/api/v1/health/models', expect: [200, 200, 200] },
      { method: 'GET', url: '/metrics', expect: [200, 200, 200] },
      { method: 'GET', url: '/api/v1/openapi.json', expect: [200, 200, 200] },
      { method: 'GET', url: '/api/v1/models', expect: [401, 200, 200] },
      { method: 'GET', url: '/api/v1/models/org%2Fembed', expect: [401, 200, 200] },
      { method: 'GET', url: '/api/v1/models/lock', expect: [401, 200, 200] },
      { method: 'POST', url: '/api/v1/models/lock', expect: [401, 403, 200] },
      { method: 'GET', url: '/api/v1/status', expect: [401, 200, 200] },
      { method: 'POST', url: '/api/v1/infer/org%2Fembed', payload: { input_data: { text: 'a b' } }, expect: [401, 200, 200] },
      { method: 'POST', url: '/api/v1/models', payload: { model_id: 'org/new', task_type: 'txt2embed' }, expect: [401, 403, 201] },
      { method: 'PUT', url: '/api/v1/models/org/embed', payload: { description: 'x' }, expect: [401, 403, 200] },
      { method: 'POST', url: '/api/v1/models/org%2Fembed/load', expect: [401, 403, 200] },
      { method: 'POST', url: '/api/v1/models/org%2Fembed/unload', expect: [401, 403, 200] },
      { method: 'POST', url: '/api/v1/models/org%2Fembed/download', expect: [401, 403, 202] },
      { method: 'DELETE', url: '/api/v1/models/org%2Fother', expect: [401, 403, 204] },
      { method: 'GET', url: '/api/v1/no-such-route', expect: [401, 404, 404] },
    ];
    for (const c of cases) {
      const statuses: number[] = [];
      for (const headers of [{}, bearer(ALICE), bearer(ADMIN)]) {
        const res = await t.app.inject({ method: c.method, url: c.url, headers: { host: 'localhost:8000', ...headers }, ...(c.payload && { payload: c.payload }) });
        statuses.push(res.statusCode);
        if (res.statusCode === 401) {
          assert.equal(res.headers['www-authenticate'], 'Bearer realm="modelmora"');
          assert.equal(res.json<{ error_code: string }>().error_code, 'UNAUTHORIZED');
        }
        if (res.statusCode === 403) {
          assert.equal(res.json<{ error_code: string }>().error_code, 'FORBIDDEN');
          assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope", scope="admin"/);
        }
      }
      assert.deepEqual(statuses, c.expect, `${c.method} ${c.url}`);
    }
    await t.services.downloads.idle();
  });

  it('refuses malformed and unknown bearer tokens with 401, and never echoes them', async () => {
    for (const authorization of ['', 'Bearer', 'Bearer ', `Basic ${ALICE}`, `Bearer ${ALICE}x`, `Token ${ALICE}`, `Bearer ${ALICE} extra`]) {
      const res = await t.app.inject({ url: '/api/v1/models', headers: { host: 'localhost', authorization } });
      assert.equal(res.statusCode, 401, JSON.stringify(authorization));
      assert.ok(!res.body.includes(ALICE));
    }
  });

  it('refuses a token in the query string, even with a valid header', async () => {
    for (const url of [`/api/v1/models?token=${ALICE}`, `/api/v1/models?page=1&access_token=${ALICE}`, `/health/live?token=${ALICE}`]) {
      const res = await t.app.inject({ url, headers: { host: 'localhost', ...bearer(ALICE) } });
      assert.equal(res.statusCode, 401, url);
      assert.equal(res.json<{ error_code: string }>().error_code, 'UNAUTHORIZED');
      assert.ok(!res.body.includes(ALICE));
    }
  });

  it('answers a foreign Host with 403 before anything else (DNS rebinding), even on health paths', async () => {
    for (const host of ['attacker.example', 'attacker.example:8000', '10.1.2.3:8000']) {
      for (const url of ['/health/live', '/api/v1/models']) {
        const res = await t.app.inject({ url, headers: { host, ...bearer(ADMIN) } });
        assert.equal(res.statusCode, 403, `${host} ${url}`);
        assert.equal(res.json<{ error_code: string }>().error_code, 'FORBIDDEN');
      }
    }
    for (const host of ['localhost', '127.0.0.1:8000', '[::1]:8000', 'models.internal:8000']) {
      assert.equal((await t.app.inject({ url: '/health/live', headers: { host } })).statusCode, 200, host);
    }
  });

  it('CORS: answers preflights of listed origins only; cross-origin writes from other origins are 403 and change nothing', async () => {
    const preflight = (origin: string) =>
      t.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/models/org%2Fembed',
        headers: { host: 'localhost:8000', origin, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' },
      });
    const allowed = await preflight('https://app.example');
    assert.equal(allowed.statusCode, 204);
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example');
    assert.match(String(allowed.headers['access-control-allow-methods']), /DELETE/);
    assert.match(String(allowed.headers['access-control-allow-headers']), /authorization/);
    const denied = await preflight('https://evil.example');
    assert.equal(denied.statusCode, 403);
    assert.equal(denied.headers['access-control-allow-origin'], undefined);

    const get = await t.app.inject({ url: '/api/v1/models', headers: { host: 'localhost:8000', origin: 'https://app.example', ...bearer(ALICE) } });
    assert.equal(get.statusCode, 200);
    assert.equal(get.headers['access-control-allow-origin'], 'https://app.example');

    const crossDelete = await t.app.inject({ method: 'DELETE', url: '/api/v1/models/org%2Fembed', headers: { host: 'localhost:8000', origin: 'https://evil.example', ...bearer(ADMIN) } });
    assert.equal(crossDelete.statusCode, 403);
    assert.equal(crossDelete.json<{ error_code: string }>().error_code, 'FORBIDDEN');
    assert.equal((await t.registry.get('org/embed')).model_id, 'org/embed', 'not deleted');

    const sameOrigin = await t.app.inject({
      method: 'POST',
      url: '/api/v1/infer/org%2Fembed',
      headers: { host: 'localhost:8000', origin: 'http://localhost:8000', ...bearer(ALICE) },
      payload: { input_data: { text: 'x' } },
    });
    assert.equal(sameOrigin.statusCode, 200, 'Swagger UI on the same origin works');
  });

  it('jobs: an inference caller sees and cancels only its own jobs; admin sees all', async () => {
    const submit = async (token: string) => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/infer/org%2Fembed/async', headers: { host: 'localhost', ...bearer(token) }, payload: { input_data: { text: 'a' } } });
      assert.equal(res.statusCode, 202);
      return res.json<{ job_id: string }>().job_id;
    };
    const aliceJob = await submit(ALICE);
    const bobJob = await submit(BOB);
    for (let i = 0; i < 3; i++) {
      await settle();
      await jobs.flushed();
    }
    const as = (token: string, method: 'GET' | 'DELETE', url: string) => t.app.inject({ method, url, headers: { host: 'localhost', ...bearer(token) } });
    for (const url of [`/api/v1/jobs/${aliceJob}`, `/api/v1/jobs/${aliceJob}/result`]) {
      assert.equal((await as(ALICE, 'GET', url)).statusCode, 200, url);
      const other = await as(BOB, 'GET', url);
      assert.equal(other.statusCode, 404, url);
      assert.equal(other.json<{ error_code: string }>().error_code, 'JOB_NOT_FOUND');
      assert.equal((await as(ADMIN, 'GET', url)).statusCode, 200, url);
    }
    const ids = async (token: string) => (await as(token, 'GET', '/api/v1/jobs')).json<{ data: Array<{ job_id: string }> }>().data.map((j) => j.job_id);
    assert.deepEqual(await ids(ALICE), [aliceJob]);
    assert.deepEqual(await ids(BOB), [bobJob]);
    assert.deepEqual((await ids(ADMIN)).sort(), [aliceJob, bobJob].sort());
    // Cancelling another caller's job looks exactly like cancelling an unknown one.
    const cancel = await as(BOB, 'DELETE', `/api/v1/jobs/${aliceJob}`);
    assert.equal(cancel.statusCode, 404);
    assert.equal(cancel.json<{ error_code: string }>().error_code, 'JOB_NOT_FOUND');
    assert.equal((await store.get(aliceJob))?.owner, 'token:alice', 'the owner is the token name, on disk');
    assert.equal((await store.get(bobJob))?.owner, 'token:bob');
  });

  it('logs neither the Authorization header nor a token sent in the URL', async () => {
    await t.app.inject({ url: `/api/v1/models?token=${BOB}`, headers: { host: 'localhost', ...bearer(ADMIN) } });
    await t.app.inject({ url: '/api/v1/models', headers: { host: 'localhost', ...bearer(ALICE) } });
    const text = logLines.join('');
    assert.match(text, /incoming request/, 'request logging is on');
    assert.match(text, /token=\[redacted\]/);
    for (const token of [ADMIN, ALICE, BOB]) assert.ok(!text.includes(token), 'a token reached the log');
  });
});
