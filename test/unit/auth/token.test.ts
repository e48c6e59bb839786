import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateToken, hashToken, isTokenShaped, matchToken, parseTokenList, tokenEntry } from '../../../src/auth/token.js';
import { createToken, listTokens, parseTokensFile, readTokensFile, removeToken } from '../../../src/auth/tokens-file.js';
import { ModelMoraError } from '../../../src/domain/errors.js';

describe('static tokens', () => {
  it('generates mm_ + 32 random bytes in base64url, different every time', () => {
    const a = generateToken();
    const b = generateToken();
    assert.match(a, /^mm_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(a.slice(3), 'base64url').length, 32);
    assert.notEqual(a, b);
    assert.ok(isTokenShaped(a));
  });

  it('keeps a salted hash only, and matches the token and nothing else', () => {
    const token = generateToken();
    const entry = tokenEntry('ci', 'inference', token);
    assert.equal(entry.hash.length, 32);
    assert.ok(!entry.hash.equals(hashToken(token, Buffer.alloc(16))), 'the salt takes part in the hash');
    const other = tokenEntry('ops', 'admin', generateToken());
    assert.equal(matchToken([other, entry], token)?.name, 'ci');
    assert.equal(matchToken([other, entry], `${token}x`), undefined);
    assert.equal(matchToken([other, entry], token.slice(0, -1)), undefined);
    assert.equal(matchToken([], token), undefined);
  });

  it('reads MODELMORA_TOKENS entries: scope:token and scope:name:token', () => {
    const admin = generateToken();
    const inference = 'a-long-enough-token-1234';
    const entries = parseTokenList([admin.replace(/^/, 'admin:'), ` inference:ci-bot:${inference} `]);
    assert.deepEqual(entries.map((e) => [e.name, e.scope]), [[entries[0]!.name, 'admin'], ['ci-bot', 'inference']]);
    assert.match(entries[0]!.name, /^env-[0-9a-f]{8}$/, 'an unnamed token gets a stable name from its hash');
    assert.equal(parseTokenList([`admin:${admin}`])[0]!.name, entries[0]!.name);
    assert.equal(matchToken(entries, inference)?.name, 'ci-bot');
    assert.equal(matchToken(entries, admin)?.scope, 'admin');
    assert.deepEqual(parseTokenList([]), []);
  });

  it('refuses malformed entries by position, never echoing the token', () => {
    const secret = 'super-secret-token-value';
    const cases: Array<[string[], RegExp]> = [
      [[`root:${secret}`], /entry 1 has an unknown scope/],
      [[secret], /entry 1 is not scope:token/],
      [['admin:short'], /entry 1 has a token shorter than 16/],
      [[`admin:${secret}`, `inference:a:b:${secret}`], /entry 2 is not scope:token/],
      [[`admin:bad name:${secret}`], /entry 1 has a name/],
      [[`admin:x:${secret}`, `inference:x:${secret}2`], /entry 2 repeats the name x/],
      [[`admin:${secret} with space`], /entry 1 has a token with characters/],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => parseTokenList(input),
        (err: unknown) => err instanceof ModelMoraError && err.code === 'VALIDATION_ERROR' && message.test(err.message) && !err.message.includes(secret),
        input.join(','),
      );
    }
  });
});

describe('tokens file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'modelmora-tokens-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('create prints the token once and stores only its hash, 0600; ls never shows it; rm removes by name', async () => {
    const file = path.join(dir, 'home', 'tokens.json');
    assert.equal(await readTokensFile(file), undefined, 'no file: no tokens source');
    const now = new Date('2025-03-04T05:06:07.000Z');
    const a = await createToken(file, { scope: 'inference', name: 'ci', now });
    const b = await createToken(file, { scope: 'admin' });
    assert.match(a.token, /^mm_/);
    assert.deepEqual(a.info, { name: 'ci', scope: 'inference', created_at: now.toISOString() });
    assert.match(b.info.name, /^admin-[0-9a-f]{6}$/);
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(a.token) && !text.includes(b.token), 'the file holds no token');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const stored = (await readTokensFile(file))!;
    assert.equal(matchToken(stored, a.token)?.name, 'ci');
    assert.equal(matchToken(stored, b.token)?.scope, 'admin');
    assert.deepEqual(await listTokens(file), [a.info, b.info]);
    assert.ok(!JSON.stringify(await listTokens(file)).includes('sha256'));

    await assert.rejects(createToken(file, { scope: 'admin', name: 'ci' }), /already exists/);
    await assert.rejects(createToken(file, { scope: 'admin', name: '../x' }), /token name/);
    await removeToken(file, 'ci');
    assert.deepEqual((await listTokens(file)).map((t) => t.name), [b.info.name]);
    await assert.rejects(removeToken(file, 'ci'), (err: unknown) => err instanceof ModelMoraError && err.code === 'NOT_FOUND');
  });

  it('a damaged file is an error naming the file, not an empty list', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, '{"version":1,"tokens":[{"name":"x"}]}');
    await assert.rejects(readTokensFile(file), /bad\.json is damaged \(entry 1\)/);
    assert.throws(() => parseTokensFile('not json'), /not JSON/);
    assert.throws(() => parseTokensFile('{"tokens":[]}'), /no version 1 token list/);
    assert.deepEqual(parseTokensFile('{"version":1,"tokens":[]}'), []);
  });
});
