import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { createJwtVerifier, scopeOfClaim } from '../../../src/auth/jwt.js';
import { ModelMoraError } from '../../../src/domain/errors.js';

const SECRET = 'a-shared-secret-of-at-least-32-bytes!!';
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

function sign(claims: Record<string, unknown>, alg = 'HS256'): SignJWT {
  return new SignJWT(claims).setProtectedHeader({ alg });
}

const unauthorized = (message: RegExp) => (err: unknown) => err instanceof ModelMoraError && err.code === 'UNAUTHORIZED' && message.test(err.message);

describe('JWT verification (jose)', () => {
  it('HS256: a valid token gives jwt:<sub> and its strongest scope', async () => {
    const verifier = (await createJwtVerifier({ secret: SECRET }))!;
    const token = await sign({ scope: 'inference' }).setSubject('alice').setExpirationTime(now() + 60).sign(key);
    assert.deepEqual(await verifier.verify(token), { id: 'jwt:alice', scope: 'inference' });
    const both = await sign({ scope: ['inference', 'admin'] }).setExpirationTime(now() + 60).sign(key);
    assert.deepEqual(await verifier.verify(both), { id: 'jwt:-', scope: 'admin' });
  });

  it('RS256 with a public key file, and keys made by jose.generateKeyPair', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey as CryptoKey);
    const verifier = (await createJwtVerifier({ publicKeyPem: pem }))!;
    const token = await sign({ scope: 'admin ops' }, 'RS256').setSubject('svc').setExpirationTime('5m').sign(privateKey);
    assert.deepEqual(await verifier.verify(token), { id: 'jwt:svc', scope: 'admin' });

    // Signed by another key pair: refused.
    const other = await generateKeyPair('RS256');
    const forged = await sign({ scope: 'admin' }, 'RS256').setExpirationTime('5m').sign(other.privateKey);
    await assert.rejects(verifier.verify(forged), unauthorized(/not valid/));
    // An HS256 token is not accepted when only RS256 is configured (no algorithm confusion).
    const hs = await sign({ scope: 'admin' }).setExpirationTime('5m').sign(new TextEncoder().encode(pem));
    await assert.rejects(verifier.verify(hs), unauthorized(/not valid/));
  });

  it('refuses expired tokens, tokens without exp, wrong signatures and unsigned tokens', async () => {
    const verifier = (await createJwtVerifier({ secret: SECRET }))!;
    const expired = await sign({ scope: 'admin' }).setExpirationTime(now() - 120).sign(key);
    await assert.rejects(verifier.verify(expired), unauthorized(/expired/));
    const noExp = await sign({ scope: 'admin' }).sign(key);
    await assert.rejects(verifier.verify(noExp), unauthorized(/not valid/));
    const wrongKey = await sign({ scope: 'admin' }).setExpirationTime('5m').sign(new TextEncoder().encode(`${SECRET}-other`));
    await assert.rejects(verifier.verify(wrongKey), unauthorized(/not valid/));
    const good = await sign({ scope: 'admin' }).setExpirationTime('5m').sign(key);
    const [header, payload] = good.split('.');
    const tampered = `${header}.${Buffer.from(JSON.stringify({ scope: 'admin', exp: now() + 60, sub: 'mallory' })).toString('base64url')}.${good.split('.')[2]}`;
    await assert.rejects(verifier.verify(tampered), unauthorized(/not valid/));
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    await assert.rejects(verifier.verify(none), unauthorized(/not valid/));
  });

  it('checks iss and aud when they are set', async () => {
    const verifier = (await createJwtVerifier({ secret: SECRET, issuer: 'https://idp.example', audience: 'modelmora' }))!;
    const good = await sign({ scope: 'inference' }).setIssuer('https://idp.example').setAudience('modelmora').setExpirationTime('5m').sign(key);
    assert.equal((await verifier.verify(good)).scope, 'inference');
    const wrongIss = await sign({ scope: 'inference' }).setIssuer('https://evil.example').setAudience('modelmora').setExpirationTime('5m').sign(key);
    await assert.rejects(verifier.verify(wrongIss), unauthorized(/not valid/));
    const wrongAud = await sign({ scope: 'inference' }).setIssuer('https://idp.example').setAudience('other').setExpirationTime('5m').sign(key);
    await assert.rejects(verifier.verify(wrongAud), unauthorized(/not valid/));
  });

  it('no key configured: no verifier; a short secret or a bad key refuses to start', async () => {
    assert.equal(await createJwtVerifier({}), undefined);
    await assert.rejects(createJwtVerifier({ secret: 'short' }), /at least 32 bytes/);
    await assert.rejects(createJwtVerifier({ publicKeyPem: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }), /not a PEM RSA public key/);
  });

  it('reads the scope claim as a space-separated string or an array', () => {
    assert.equal(scopeOfClaim('inference'), 'inference');
    assert.equal(scopeOfClaim('read inference admin'), 'admin');
    assert.equal(scopeOfClaim(['inference']), 'inference');
    assert.equal(scopeOfClaim('read write'), undefined);
    assert.equal(scopeOfClaim(['adminx', 7]), undefined);
    assert.equal(scopeOfClaim(undefined), undefined);
    assert.equal(scopeOfClaim({ admin: true }), undefined);
  });
});
