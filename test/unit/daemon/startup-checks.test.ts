import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkBind, loadTls } from '../../../src/daemon/startup-checks.js';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { selfSignedCert, type TestCert } from '../../support/tls-cert.js';

describe('startup checks', () => {
  let dir: string;
  let cert: TestCert;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'modelmora-startup-'));
    cert = await selfSignedCert(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a non-loopback bind needs a token source; loopback binds do not', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) assert.doesNotThrow(() => checkBind(host, false), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'example.com']) {
      assert.throws(() => checkBind(host, false), (err: unknown) => err instanceof ModelMoraError && /Refusing to listen on .* without authentication/.test(err.message), host);
      assert.doesNotThrow(() => checkBind(host, true), host);
    }
  });

  it('loads a certificate and its key; neither set means plaintext', async () => {
    assert.equal(await loadTls({ tls_cert: null, tls_key: null }), undefined);
    const tls = await loadTls({ tls_cert: cert.certFile, tls_key: cert.keyFile });
    assert.ok(tls?.cert.toString().includes('BEGIN CERTIFICATE'));
    assert.ok(tls?.key.toString().includes('PRIVATE KEY'));
  });

  it('refuses to start, without naming absolute paths, when TLS is asked for and cannot be honoured', async () => {
    const garbage = path.join(dir, 'garbage.pem');
    await writeFile(garbage, 'not a pem');
    const other = await selfSignedCert(await mkdtemp(path.join(dir, 'other-')));
    const cases: ReadonlyArray<[Parameters<typeof loadTls>[0], RegExp]> = [
      [{ tls_cert: cert.certFile, tls_key: null }, /tls_key is not set/],
      [{ tls_cert: null, tls_key: cert.keyFile }, /tls_cert is not set/],
      [{ tls_cert: path.join(dir, 'missing.pem'), tls_key: cert.keyFile }, /tls_cert: the file cannot be read \(ENOENT\)/],
      [{ tls_cert: cert.certFile, tls_key: path.join(dir, 'missing.pem') }, /tls_key: the file cannot be read \(ENOENT\)/],
      [{ tls_cert: garbage, tls_key: cert.keyFile }, /not a PEM certificate and its private key/],
      [{ tls_cert: cert.certFile, tls_key: other.keyFile }, /not a PEM certificate and its private key/],
    ];
    for (const [settings, message] of cases) {
      await assert.rejects(loadTls(settings), (err: unknown) => err instanceof ModelMoraError && message.test(err.message) && !err.message.includes(dir), JSON.stringify(settings));
    }
  });
});
