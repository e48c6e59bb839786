import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { Authenticator, bearerToken, checkAccess, type AuthConfig } from '../../../src/auth/authenticator.js';
import { ANONYMOUS, type AccessLevel } from '../../../src/auth/principal.js';
import { createToken, removeToken } from '../../../src/auth/tokens-file.js';
import { ModelMoraError, type ErrorCode } from '../../../src/domain/errors.js';

const ADMIN = 'admin-token-0123456789abcdef';
const INFER = 'inference-token-0123456789ab';
const SECRET = 'jwt-secret-jwt-secret-jwt-secret-123';

function config(home: string, overrides: Partial<AuthConfig> = {}): AuthConfig {
  return { home, tokens: [], tokens_file: null, jwt_secret: null, jwt_public_key: null, jwt_issuer: null, jwt_audience: null, metrics_auth: false, ...overrides };
}

async function code(promise: Promise<unknown>): Promise<ErrorCode | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    if (err instanceof ModelMoraError) return err.code;
    throw err;
  }
}

describe('checkAccess: the one rule set', () => {
  let home: string;
  let auth: Authenticator;
  before(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'modelmora-auth-'));
    auth = await Authenticator.create(config(home, { tokens: [`admin:ops:${ADMIN}`, `inference:ci:${INFER}`], jwt_secret: SECRET }));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('answers every (credential, access level) pair as the table says', async () => {
    const jwt = (scope: string) =>
      new SignJWT({ scope }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));
    const credentials: Record<string, string | undefined> = {
      none: undefined,
      empty: '',
      'Bearer only': 'Bearer ',
      basic: `Basic ${Buffer.from('a:b').toString('base64')}`,
      'two tokens': `Bearer ${ADMIN} ${INFER}`,
      unknown: 'Bearer mm_not-a-known-token-at-all',
      admin: `Bearer ${ADMIN}`,
      'admin lower-case scheme': `bearer ${ADMIN}`,
      inference: `Bearer ${INFER}`,
      'jwt admin': `Bearer ${await jwt('admin')}`,
      'jwt inference': `Bearer ${await jwt('inference')}`,
      'jwt no scope': `Bearer ${await jwt('read')}`,
    };
    // Expected outcome per access level: public, metrics (open), inference, admin.
    const expected: Record<string, [string, string, string, string]> = {
      none: ['ok', 'ok', 'UNAUTHORIZED', 'UNAUTHORIZED'],
      empty: ['ok', 'ok', 'UNAUTHORIZED', 'UNAUTHORIZED'],
      'Bearer only': ['ok', 'ok', 'UNAUTHORIZED', 'UNAUTHORIZED'],
      basic: ['ok', 'ok', 'UNAUTHORIZED', 'UNAUTHORIZED'],
      'two tokens': ['ok', 'ok', 'UNAUTHORIZED', 'UNAUTHORIZED'],
      unknown: ['ok', 'ok', 'UNAUTHORIZED', 'UNAUTHORIZED'],
      admin: ['ok', 'ok', 'ok', 'ok'],
      'admin lower-case scheme': ['ok', 'ok', 'ok', 'ok'],
      inference: ['ok', 'ok', 'ok', 'FORBIDDEN'],
      'jwt admin': ['ok', 'ok', 'ok', 'ok'],
      'jwt inference': ['ok', 'ok', 'ok', 'FORBIDDEN'],
      'jwt no scope': ['ok', 'ok', 'FORBIDDEN', 'FORBIDDEN'],
    };
    const levels: AccessLevel[] = ['public', 'metrics', 'inference', 'admin'];
    for (const [name, authorization] of Object.entries(credentials)) {
      const got = await Promise.all(levels.map((need) => code(checkAccess(auth, { authorization }, need))));
      assert.deepEqual(got, expected[name], name);
    }
  });

  it('names the principal by token name or JWT subject, never by the token', async () => {
    assert.deepEqual(await checkAccess(auth, { authorization: `Bearer ${INFER}` }, 'inference'), { id: 'token:ci', scope: 'inference', anonymous: false });
    assert.deepEqual(await checkAccess(auth, { authorization: `Bearer ${ADMIN}` }, 'admin'), { id: 'token:ops', scope: 'admin', anonymous: false });
    assert.equal(await checkAccess(auth, { authorization: undefined }, 'public'), ANONYMOUS);
  });

  it('refuses a token in the query string even with a valid header, on every access level', async () => {
    for (const need of ['public', 'metrics', 'inference', 'admin'] as const) {
      assert.equal(await code(checkAccess(auth, { authorization: `Bearer ${ADMIN}`, tokenInQuery: true }, need)), 'UNAUTHORIZED', need);
    }
  });

  it('a header sent twice is refused', async () => {
    assert.equal(await code(checkAccess(auth, { authorization: [`Bearer ${ADMIN}`, `Bearer ${ADMIN}`] }, 'inference')), 'UNAUTHORIZED');
    assert.throws(() => bearerToken('Bearer a\tb'), /Bearer <token>/);
    assert.equal(bearerToken('Bearer  abc.def-ghi_jkl~='), 'abc.def-ghi_jkl~=');
  });

  it('metrics_auth: /metrics needs a token of any scope', async () => {
    const strict = await Authenticator.create(config(home, { tokens: [`inference:${INFER}`], metrics_auth: true }));
    assert.equal(await code(checkAccess(strict, { authorization: undefined }, 'metrics')), 'UNAUTHORIZED');
    assert.equal(await code(checkAccess(strict, { authorization: `Bearer ${INFER}` }, 'metrics')), 'ok');
    assert.equal(await code(checkAccess(strict, { authorization: undefined }, 'public')), 'ok');
  });

  it('no token source: auth off, everyone is ANONYMOUS (admin); query tokens are still refused', async () => {
    const off = await Authenticator.create(config(home));
    assert.equal(off.enabled, false);
    assert.equal(await checkAccess(off, { authorization: undefined }, 'admin'), ANONYMOUS);
    assert.equal(await checkAccess(undefined, { authorization: 'garbage' }, 'admin'), ANONYMOUS);
    assert.equal(await code(checkAccess(off, { authorization: undefined, tokenInQuery: true }, 'inference')), 'UNAUTHORIZED');
  });
});

describe('the tokens file as a token source', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'modelmora-auth-file-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('turns auth on; a created token works, a removed one stops working after the refresh interval; a deleted file keeps auth on', async () => {
    let clock = 1_000_000;
    const file = path.join(home, 'tokens.json');
    const first = await createToken(file, { scope: 'inference', name: 'first' });
    const auth = await Authenticator.create(config(home), { now: () => clock });
    assert.equal(auth.enabled, true);
    assert.deepEqual(auth.sources, ['tokens.json (1)']);
    const as = (token: string) => code(checkAccess(auth, { authorization: `Bearer ${token}` }, 'inference'));
    assert.equal(await as(first.token), 'ok');

    const second = await createToken(file, { scope: 'admin', name: 'second' });
    assert.equal(await as(second.token), 'UNAUTHORIZED', 'not looked at again within the interval');
    clock += 1500;
    assert.equal(await as(second.token), 'ok', 'picked up after the interval');

    await removeToken(file, 'first');
    clock += 1500;
    assert.equal(await as(first.token), 'UNAUTHORIZED', 'revoked without a restart');

    await unlink(file);
    clock += 1500;
    assert.equal(await as(second.token), 'UNAUTHORIZED');
    assert.equal(auth.enabled, true, 'a vanished file does not open the daemon');
  });

  it('tokens_file points elsewhere', async () => {
    const file = path.join(home, 'elsewhere', 'my-tokens.json');
    const made = await createToken(file, { scope: 'admin', name: 'x' });
    const auth = await Authenticator.create(config(home, { tokens_file: file }));
    assert.deepEqual(auth.sources, ['my-tokens.json (1)']);
    assert.equal(await code(checkAccess(auth, { authorization: `Bearer ${made.token}` }, 'admin')), 'ok');
  });
});
