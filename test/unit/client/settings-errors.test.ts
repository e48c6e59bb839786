import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_URL, normalizeBaseUrl, recordUrl, resolveClientSettings } from '../../../src/client/daemon-url.js';
import { errorFromResponse, errorFromTransport } from '../../../src/client/http-errors.js';

describe('where the client finds the daemon', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'modelmora-client-'));
  });
  after(() => rm(home, { recursive: true, force: true }));

  it('takes baseUrl, then MODELMORA_URL, then the live daemon of the home, then 127.0.0.1:8000', async () => {
    const env = { MODELMORA_HOME: home };
    assert.equal(resolveClientSettings({ env }).baseUrl, DEFAULT_URL);
    // This very process stands in for a live daemon.
    await writeFile(path.join(home, 'daemon.pid'), JSON.stringify({ pid: process.pid, host: '0.0.0.0', port: 8123, grpc_port: 0, started_at: 'x' }));
    assert.equal(resolveClientSettings({ env }).baseUrl, 'http://127.0.0.1:8123');
    assert.equal(resolveClientSettings({ env: { ...env, MODELMORA_URL: 'http://10.1.2.3:9000/api/v1' } }).baseUrl, 'http://10.1.2.3:9000');
    assert.equal(resolveClientSettings({ env: { ...env, MODELMORA_URL: 'http://10.1.2.3:9000' }, baseUrl: 'http://h:1/' }).baseUrl, 'http://h:1');
    // A record whose process is gone is ignored.
    await writeFile(path.join(home, 'daemon.pid'), JSON.stringify({ pid: 2 ** 22 + 7, host: '127.0.0.1', port: 8124, grpc_port: 0, started_at: 'x' }));
    assert.equal(resolveClientSettings({ env }).baseUrl, DEFAULT_URL);
  });

  it('reads the token from MODELMORA_TOKEN unless one is given', () => {
    assert.equal(resolveClientSettings({ env: { MODELMORA_TOKEN: 't1' } }).token, 't1');
    assert.equal(resolveClientSettings({ env: { MODELMORA_TOKEN: 't1' }, token: 't2' }).token, 't2');
    assert.equal(resolveClientSettings({ env: {} }).token, undefined);
  });

  it('normalizes URLs and reaches wildcard binds on loopback', () => {
    assert.equal(normalizeBaseUrl('http://a:1/api/v1/'), 'http://a:1');
    assert.equal(recordUrl({ host: '::', port: 5 }), 'http://[::1]:5');
    assert.equal(recordUrl({ host: '127.0.0.1', port: 5 }), 'http://127.0.0.1:5');
  });
});

describe('errors rebuilt from answers', () => {
  it('uses the body code, keeps extra fields and the trace id as details', () => {
    const err = errorFromResponse(404, JSON.stringify({ error_code: 'MODEL_NOT_FOUND', message: "Model 'a/b' not found", details: { x: 1 }, trace_id: 't' }), undefined);
    assert.equal(err.code, 'MODEL_NOT_FOUND');
    assert.equal(err.message, "Model 'a/b' not found");
    assert.deepEqual(err.details, { x: 1, trace_id: 't' });
    assert.equal(err.fieldErrors, undefined);
  });

  it('falls back on the status for a body without a known code', () => {
    const proxy = errorFromResponse(502, '<html>bad gateway</html>', undefined);
    assert.equal(proxy.code, 'INTERNAL_ERROR');
    assert.equal(proxy.message, 'The daemon answered HTTP 502');
    const limited = errorFromResponse(429, '{"error_code":"SLOW_DOWN"}', '7');
    assert.equal(limited.code, 'RATE_LIMIT_EXCEEDED');
    assert.deepEqual(limited.details, { error_code: 'SLOW_DOWN', retry_after: 7 });
    assert.equal(errorFromResponse(401, '', undefined).code, 'UNAUTHORIZED');
  });

  it('maps socket failures: refused -> no daemon, timeouts, aborts', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(errorFromTransport(new AggregateError([refused]), 'http://h:1', 1000).message, 'no daemon at http://h:1; start one with `modelmora serve --detach`');
    const timeout = errorFromTransport(Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'http://h:1', 5000);
    assert.equal(timeout.code, 'SERVICE_UNAVAILABLE');
    assert.equal(timeout.message, 'The daemon at http://h:1 did not answer within 5 s');
    assert.equal(errorFromTransport(Object.assign(new Error('a'), { name: 'AbortError' }), 'http://h:1', 1).code, 'CANCELLED');
  });
});
