import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { ModelMoraError } from '../domain/errors.js';
import { createJwtVerifier, readPublicKey, type JwtVerifier } from './jwt.js';
import { ANONYMOUS, scopeGrants, type AccessLevel, type Principal } from './principal.js';
import { isTokenShaped, matchToken, parseTokenList, type TokenEntry } from './token.js';
import { readTokensFile, TOKENS_FILE } from './tokens-file.js';

/**
 * Who may call: built once at start from the token sources (the `tokens` setting, the tokens
 * file, JWT keys) and asked by both skins through checkAccess, the one rule set. Auth is on when
 * any source exists at start; with none it is off (a developer on loopback) and every caller
 * is ANONYMOUS, allowed everything. The tokens file is read again when it changes (checked at
 * most every second), so `token rm` revokes without a restart; if it vanishes, its tokens are
 * gone, but auth stays on.
 */

export type AuthConfig = Pick<Config, 'home' | 'tokens' | 'tokens_file' | 'jwt_secret' | 'jwt_public_key' | 'jwt_issuer' | 'jwt_audience' | 'metrics_auth'>;

export interface AuthOptions {
  /** Milliseconds clock for the tokens-file refresh; default Date.now. */
  now?: () => number;
  /** A damaged tokens file at run time keeps the last good list; this hears about it. */
  onWarning?: (message: string) => void;
}

/** How often, at most, the tokens file is looked at again. */
const REFRESH_MS = 1000;

export class Authenticator {
  private fileTokens: TokenEntry[];
  private fileStamp: string;
  private checkedAt: number;
  private refreshing: Promise<void> | undefined;

  private constructor(
    private readonly envTokens: readonly TokenEntry[],
    private readonly file: string,
    fileTokens: TokenEntry[] | undefined,
    fileStamp: string,
    private readonly jwt: JwtVerifier | undefined,
    readonly metricsAuth: boolean,
    private readonly options: AuthOptions,
  ) {
    this.fileTokens = fileTokens ?? [];
    this.fileStamp = fileStamp;
    this.checkedAt = this.now();
    this.enabled = envTokens.length > 0 || fileTokens !== undefined || jwt !== undefined;
    this.sources = [
      ...(envTokens.length > 0 ? [`tokens setting (${envTokens.length})`] : []),
      ...(fileTokens !== undefined ? [`${path.basename(file)} (${fileTokens.length})`] : []),
      ...(jwt ? ['jwt'] : []),
    ];
  }

  /** Whether any token source is configured; when false every caller is ANONYMOUS. */
  readonly enabled: boolean;
  /** What the startup log shows: source names and counts, never a token. */
  readonly sources: readonly string[];

  static async create(config: AuthConfig, options: AuthOptions = {}): Promise<Authenticator> {
    const env = parseTokenList(config.tokens);
    const file = tokensFilePath(config);
    const stamp = await fileStamp(file);
    const fromFile = stamp === '' ? undefined : await readTokensFile(file);
    const jwt = await createJwtVerifier({
      secret: config.jwt_secret,
      publicKeyPem: await readPublicKey(config.jwt_public_key),
      issuer: config.jwt_issuer,
      audience: config.jwt_audience,
    });
    return new Authenticator(env, file, fromFile, stamp, jwt, config.metrics_auth, options);
  }

  /** An authenticator with auth off, for apps built without one (tests, embedding). */
  static disabled(): Authenticator {
    return new Authenticator([], '', undefined, '', undefined, false, {});
  }

  /** The principal a bearer token stands for; UNAUTHORIZED when it stands for none. */
  async identify(token: string): Promise<Principal> {
    await this.refresh();
    const entry = matchToken([...this.envTokens, ...this.fileTokens], token);
    if (entry) return { id: `token:${entry.name}`, scope: entry.scope, anonymous: false };
    if (this.jwt && token.split('.').length === 3) {
      const identity = await this.jwt.verify(token);
      if (!identity.scope) throw new ModelMoraError('FORBIDDEN', 'The token grants no ModelMora scope (admin or inference)');
      return { id: identity.id, scope: identity.scope, anonymous: false };
    }
    throw new ModelMoraError('UNAUTHORIZED', 'The token is not valid');
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private refresh(): Promise<void> {
    if (this.file === '' || this.now() - this.checkedAt < REFRESH_MS) return Promise.resolve();
    this.refreshing ??= (async () => {
      try {
        const stamp = await fileStamp(this.file);
        if (stamp === this.fileStamp) return;
        this.fileTokens = stamp === '' ? [] : ((await readTokensFile(this.file)) ?? []);
        this.fileStamp = stamp;
      } catch (err) {
        this.options.onWarning?.(err instanceof ModelMoraError ? err.message : 'The tokens file cannot be read; keeping the tokens read before');
      } finally {
        this.checkedAt = this.now();
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}

/** What a request or call presents, as both skins see it. */
export interface AccessRequest {
  /** The Authorization header (or `authorization` metadata); an array when sent more than once. */
  authorization: string | readonly string[] | undefined;
  /** A `token` or `access_token` query parameter was sent (REST only). */
  tokenInQuery?: boolean;
}

/**
 * The one access rule, for REST routes and RPCs alike. Tokens in the URL are refused outright
 * (they end up in logs and browser history); public access needs nothing; with auth off every
 * caller is ANONYMOUS; otherwise a valid `Bearer` token whose scope covers `need`.
 * Throws UNAUTHORIZED (no, empty, malformed or unknown token) or FORBIDDEN (scope too small).
 */
export async function checkAccess(auth: Authenticator | undefined, request: AccessRequest, need: AccessLevel): Promise<Principal> {
  const settled = checkAccessNow(auth, request, need);
  if (settled !== undefined || auth === undefined) return settled ?? ANONYMOUS;
  const principal = await auth.identify(bearerToken(request.authorization));
  if (need !== 'metrics' && need !== 'public' && !scopeGrants(principal.scope, need)) {
    throw new ModelMoraError('FORBIDDEN', `This needs a token with the ${need} scope`, { details: { required_scope: need } });
  }
  return principal;
}

/**
 * checkAccess's answer when it needs no token check (public access, auth off), at once and
 * without a promise, which is every request on a daemon without tokens; undefined when a token
 * must be identified (call checkAccess). Throws what checkAccess throws before that point.
 */
export function checkAccessNow(auth: Authenticator | undefined, request: AccessRequest, need: AccessLevel): Principal | undefined {
  if (request.tokenInQuery) {
    throw new ModelMoraError('UNAUTHORIZED', 'Tokens are not accepted in the URL; send them as Authorization: Bearer <token>');
  }
  if (need === 'public' || (need === 'metrics' && !auth?.metricsAuth)) return ANONYMOUS;
  if (!auth?.enabled) return ANONYMOUS;
  return undefined;
}

/** The token of `Bearer <token>`; UNAUTHORIZED for anything else. */
export function bearerToken(header: string | readonly string[] | undefined): string {
  if (header === undefined || header === '') throw new ModelMoraError('UNAUTHORIZED', 'An Authorization: Bearer <token> header is required');
  if (typeof header !== 'string') throw new ModelMoraError('UNAUTHORIZED', 'Send one Authorization header');
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  if (!match || !isTokenShaped(match[1]!)) throw new ModelMoraError('UNAUTHORIZED', 'The Authorization header must be Bearer <token>');
  return match[1]!;
}

export function tokensFilePath(config: Pick<Config, 'home' | 'tokens_file'>): string {
  return config.tokens_file ?? path.join(config.home, TOKENS_FILE);
}

/** Identity of the file's present version; '' when it does not exist. */
async function fileStamp(file: string): Promise<string> {
  try {
    const s = await stat(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new ModelMoraError('INTERNAL_ERROR', `The tokens file ${path.basename(file)} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
