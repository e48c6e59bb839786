import { Authenticator } from '../../src/auth/authenticator.js';

/** The tokens of the access tests of both skins: one admin, two inference users. */
export const ADMIN = 'admin-token-0123456789abcdef';
export const ALICE = 'alice-token-0123456789abcdef';
export const BOB = 'bob-token-0123456789abcdefgh';

/** Static tokens only (no tokens file, no JWT), metrics open: the authenticator those tests share. */
export function principalsAuthenticator(home: string): Promise<Authenticator> {
  return Authenticator.create({
    home,
    tokens: [`admin:ops:${ADMIN}`, `inference:alice:${ALICE}`, `inference:bob:${BOB}`],
    tokens_file: null,
    jwt_secret: null,
    jwt_public_key: null,
    jwt_issuer: null,
    jwt_audience: null,
    metrics_auth: false,
  });
}
