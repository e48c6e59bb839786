import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostAllowed, hostName, hostPolicy, isLoopbackHost, originAllowed } from '../../../src/auth/network-policy.js';

describe('network policy', () => {
  it('knows loopback bind addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.5', 'example.com', '128.0.0.1', 'localhost.example.com']) assert.equal(isLoopbackHost(host), false, host);
  });

  it('reads host names from Host headers', () => {
    assert.equal(hostName('Example.COM:8000'), 'example.com');
    assert.equal(hostName('[::1]:80'), '[::1]');
    assert.equal(hostName('::1'), '[::1]');
    assert.equal(hostName('localhost'), 'localhost');
  });

  it('on a loopback bind serves loopback names and allowed_hosts only (DNS rebinding)', () => {
    const policy = hostPolicy('127.0.0.1', ['models.internal']);
    const allowed = ['localhost', 'localhost:8000', '127.0.0.1:8000', '127.0.0.1', '127.9.9.9:1', '[::1]:8000', 'models.internal:8000', 'MODELS.internal'];
    const refused = ['attacker.example', 'attacker.example:8000', '10.0.0.1:8000', 'localhost.attacker.example', '127.0.0.1.nip.io', '', undefined, 'models.internal.evil'];
    for (const host of allowed) assert.equal(hostAllowed(policy, host), true, host);
    for (const host of refused) assert.equal(hostAllowed(policy, host), false, String(host));
  });

  it('on a non-loopback bind checks Host only when allowed_hosts is set', () => {
    assert.equal(hostPolicy('0.0.0.0', []), undefined);
    assert.equal(hostAllowed(undefined, 'anything.example'), true);
    const policy = hostPolicy('0.0.0.0', ['api.example.com']);
    assert.equal(hostAllowed(policy, 'api.example.com:443'), true);
    assert.equal(hostAllowed(policy, '127.0.0.1'), false);
  });

  it('refuses cross-origin writes and unlisted preflights; reads and same-origin writes pass', () => {
    const listed = ['https://app.example'];
    const cases: Array<[string, string | undefined, string, boolean]> = [
      ['POST', undefined, 'localhost:8000', true],
      ['GET', 'https://evil.example', 'localhost:8000', true],
      ['HEAD', 'https://evil.example', 'localhost:8000', true],
      ['POST', 'https://evil.example', 'localhost:8000', false],
      ['DELETE', 'https://evil.example', 'localhost:8000', false],
      ['PUT', 'null', 'localhost:8000', false],
      ['POST', 'http://localhost:8000', 'localhost:8000', true],
      ['POST', 'http://localhost:9000', 'localhost:8000', false],
      ['POST', 'https://localhost', 'localhost:443', true],
      ['POST', 'https://app.example', 'localhost:8000', true],
      ['POST', 'https://APP.example:443/', 'localhost:8000', true],
      ['OPTIONS', 'https://app.example', 'localhost:8000', true],
      ['OPTIONS', 'https://evil.example', 'localhost:8000', false],
      ['OPTIONS', 'http://localhost:8000', 'localhost:8000', false],
      ['DELETE', 'file://', 'localhost:8000', false],
    ];
    for (const [method, origin, host, ok] of cases) assert.equal(originAllowed(method, origin, host, listed), ok, `${method} ${origin} -> ${host}`);
  });
});
