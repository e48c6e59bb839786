import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ModelMoraError } from '../domain/errors.js';
import { isScope, type Scope } from './principal.js';

/**
 * Static API tokens. A generated token is `mm_` + 32 random bytes in base64url (easy to spot in
 * a leaked log or a secret scanner). Tokens are kept only as salted sha256 hashes: a token holds
 * 256 random bits, so a fast hash cannot be brute-forced, and checking a request costs one
 * hash per known token. Presented tokens are compared hash to hash with timingSafeEqual, every
 * entry, so the time taken says nothing about which entry (or how much of one) matched.
 */

export const TOKEN_PREFIX = 'mm_';

/** A token as the daemon knows it: never the token, only its salted hash. */
export interface TokenEntry {
  name: string;
  scope: Scope;
  salt: Buffer;
  hash: Buffer;
}

/** What a bearer token may contain (RFC 6750 token68, without ':' and ',' which the env format uses). */
const TOKEN_CHARS = /^[A-Za-z0-9._~+/=-]+$/;
/** Short tokens are guessable; refuse them rather than serve with one. */
export const MIN_TOKEN_LENGTH = 16;
const MAX_TOKEN_LENGTH = 4096;
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string, salt: Buffer): Buffer {
  return createHash('sha256').update(salt).update(token, 'utf8').digest();
}

/** A new entry for a token, with a fresh 16-byte salt. */
export function tokenEntry(name: string, scope: Scope, token: string): TokenEntry {
  const salt = randomBytes(16);
  return { name, scope, salt, hash: hashToken(token, salt) };
}

/** The entry whose hash matches, if any. Looks at every entry whatever matched. */
export function matchToken(entries: readonly TokenEntry[], presented: string): TokenEntry | undefined {
  let found: TokenEntry | undefined;
  for (const entry of entries) {
    const candidate = hashToken(presented, entry.salt);
    if (candidate.length === entry.hash.length && timingSafeEqual(candidate, entry.hash) && found === undefined) found = entry;
  }
  return found;
}

/** Whether a string can be a bearer token at all (shape only). */
export function isTokenShaped(token: string): boolean {
  return token.length > 0 && token.length <= MAX_TOKEN_LENGTH && TOKEN_CHARS.test(token);
}

/**
 * The `tokens` setting (MODELMORA_TOKENS): comma-separated entries, each `scope:token` or
 * `scope:name:token`; scope is `admin` or `inference`. An entry without a name is named
 * `env-<first 8 hex digits of the token's sha256>`, stable across restarts and safe to log.
 * Anything malformed refuses to start, naming the entry by position, never by its text.
 */
export function parseTokenList(entries: readonly string[]): TokenEntry[] {
  const out: TokenEntry[] = [];
  const names = new Set<string>();
  entries.forEach((raw, index) => {
    const fail = (why: string) =>
      new ModelMoraError('VALIDATION_ERROR', `Setting tokens: entry ${index + 1} ${why} (expected scope:token or scope:name:token)`, {
        fieldErrors: [{ field: 'tokens', message: `entry ${index + 1} ${why}` }],
      });
    const parts = raw.trim().split(':');
    if (parts.length !== 2 && parts.length !== 3) throw fail('is not scope:token or scope:name:token');
    const scope = parts[0]!;
    const token = parts[parts.length - 1]!;
    if (!isScope(scope)) throw fail('has an unknown scope (admin or inference)');
    if (token.length < MIN_TOKEN_LENGTH) throw fail(`has a token shorter than ${MIN_TOKEN_LENGTH} characters`);
    if (!isTokenShaped(token)) throw fail('has a token with characters a bearer token cannot carry');
    const name = parts.length === 3 ? parts[1]! : `env-${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
    if (!TOKEN_NAME.test(name)) throw fail('has a name that is not 1-64 letters, digits, dots, dashes or underscores');
    if (names.has(name)) throw fail(`repeats the name ${name}`);
    names.add(name);
    out.push(tokenEntry(name, scope, token));
  });
  return out;
}
