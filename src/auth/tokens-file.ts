import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ModelMoraError } from '../domain/errors.js';
import { isScope, type Scope } from './principal.js';
import { generateToken, TOKEN_NAME, tokenEntry, type TokenEntry } from './token.js';

/**
 * `<home>/tokens.json`, written by `modelmora token create|rm` and read by the daemon. It holds
 * only salted hashes, never a token, and is written 0600 (temp file, fsync, rename) so a crash
 * leaves the old or the new list, never half of one:
 *
 *   { "version": 1, "tokens": [ { "name": "ci", "scope": "inference",
 *     "created_at": "2025-01-01T00:00:00.000Z", "salt": "<base64url>", "sha256": "<base64url>" } ] }
 */

export interface StoredToken extends TokenEntry {
  created_at: string;
}

/** What `token ls` shows: never the token, never its hash. */
export interface TokenInfo {
  name: string;
  scope: Scope;
  created_at: string;
}

interface FileShape {
  version: 1;
  tokens: Array<{ name: string; scope: Scope; created_at: string; salt: string; sha256: string }>;
}

export const TOKENS_FILE = 'tokens.json';

/** The tokens; undefined when the file does not exist. A damaged file is an error, not "no tokens". */
export async function readTokensFile(file: string): Promise<StoredToken[] | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelMoraError('INTERNAL_ERROR', `The tokens file ${path.basename(file)} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  return parseTokensFile(text, path.basename(file));
}

export function parseTokensFile(text: string, name = TOKENS_FILE): StoredToken[] {
  const bad = (why: string) => new ModelMoraError('INTERNAL_ERROR', `The tokens file ${name} is damaged (${why}); fix or remove it`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const tokens = (data as Partial<FileShape> | null)?.tokens;
  if ((data as Partial<FileShape> | null)?.version !== 1 || !Array.isArray(tokens)) throw bad('no version 1 token list');
  return tokens.map((t, i) => {
    const salt = typeof t?.salt === 'string' ? Buffer.from(t.salt, 'base64url') : Buffer.alloc(0);
    const hash = typeof t?.sha256 === 'string' ? Buffer.from(t.sha256, 'base64url') : Buffer.alloc(0);
    if (typeof t?.name !== 'string' || !TOKEN_NAME.test(t.name) || !isScope(t.scope) || typeof t.created_at !== 'string' || salt.length < 8 || hash.length !== 32) {
      throw bad(`entry ${i + 1}`);
    }
    return { name: t.name, scope: t.scope, created_at: t.created_at, salt, hash };
  });
}

export async function listTokens(file: string): Promise<TokenInfo[]> {
  return ((await readTokensFile(file)) ?? []).map(({ name, scope, created_at }) => ({ name, scope, created_at }));
}

/**
 * Makes a new token, stores its hash and returns the token: the only time it is ever seen.
 * Names are unique; without one the token is named `<scope>-<6 hex digits>`.
 */
export async function createToken(file: string, options: { scope: Scope; name?: string; now?: Date }): Promise<{ token: string; info: TokenInfo }> {
  const name = options.name ?? `${options.scope}-${randomBytes(3).toString('hex')}`;
  if (!TOKEN_NAME.test(name)) {
    throw new ModelMoraError('VALIDATION_ERROR', 'A token name is 1-64 letters, digits, dots, dashes or underscores', { fieldErrors: [{ field: 'name', message: 'is not a valid token name' }] });
  }
  const tokens = (await readTokensFile(file)) ?? [];
  if (tokens.some((t) => t.name === name)) {
    throw new ModelMoraError('VALIDATION_ERROR', `A token named ${name} already exists; remove it first or pick another name`, { fieldErrors: [{ field: 'name', message: 'already exists' }] });
  }
  const token = generateToken();
  const stored: StoredToken = { ...tokenEntry(name, options.scope, token), created_at: (options.now ?? new Date()).toISOString() };
  await writeTokensFile(file, [...tokens, stored]);
  return { token, info: { name, scope: stored.scope, created_at: stored.created_at } };
}

/** Removes a token by name; NOT_FOUND when there is none. A running daemon stops accepting it within a second or two. */
export async function removeToken(file: string, name: string): Promise<void> {
  const tokens = (await readTokensFile(file)) ?? [];
  const kept = tokens.filter((t) => t.name !== name);
  if (kept.length === tokens.length) throw new ModelMoraError('NOT_FOUND', `No token named ${name}`);
  await writeTokensFile(file, kept);
}

async function writeTokensFile(file: string, tokens: readonly StoredToken[]): Promise<void> {
  const data: FileShape = {
    version: 1,
    tokens: tokens.map((t) => ({ name: t.name, scope: t.scope, created_at: t.created_at, salt: t.salt.toString('base64url'), sha256: t.hash.toString('base64url') })),
  };
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(data, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // A file created before by hand may be wider; the hashes are not secrets, but the list is ours.
  await chmod(file, 0o600);
}
