import { readFile } from 'node:fs/promises';
import { errors, importSPKI, importX509, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import { ModelMoraError } from '../domain/errors.js';
import { type Scope } from './principal.js';

/**
 * JWTs signed by someone else (an identity provider, a gateway), checked with jose: HS256 with a
 * shared secret (jwt_secret) and/or RS256 with a public key (jwt_public_key, a PEM SPKI key or
 * X.509 certificate). Only the configured algorithms are accepted (never `none`, never HS256
 * with the RSA public key as secret); `exp` is required and checked, `iss` and `aud` when set.
 * The `scope` claim, a space-separated string or an array, must name `admin` or `inference`.
 */

export interface JwtSettings {
  secret?: string | null | undefined;
  /** PEM text of the RS256 public key (SPKI) or certificate. */
  publicKeyPem?: string | null | undefined;
  issuer?: string | null | undefined;
  audience?: string | null | undefined;
}

export interface JwtIdentity {
  /** `jwt:<sub>`; `jwt:-` when the token has no subject. */
  id: string;
  /** The strongest ModelMora scope the claim names; undefined when it names none. */
  scope: Scope | undefined;
}

export interface JwtVerifier {
  verify(token: string): Promise<JwtIdentity>;
}

/** RFC 7518 §3.2: an HS256 key is at least as long as the hash. */
export const MIN_JWT_SECRET_BYTES = 32;
/** Clocks of issuer and server may differ a little. */
const CLOCK_TOLERANCE_SECONDS = 5;

export async function createJwtVerifier(settings: JwtSettings): Promise<JwtVerifier | undefined> {
  const keys = new Map<string, Uint8Array | CryptoKey>();
  if (settings.secret) {
    if (Buffer.byteLength(settings.secret) < MIN_JWT_SECRET_BYTES) {
      throw new ModelMoraError('VALIDATION_ERROR', `Setting jwt_secret: an HS256 secret must be at least ${MIN_JWT_SECRET_BYTES} bytes`, {
        fieldErrors: [{ field: 'jwt_secret', message: `must be at least ${MIN_JWT_SECRET_BYTES} bytes` }],
      });
    }
    keys.set('HS256', new TextEncoder().encode(settings.secret));
  }
  if (settings.publicKeyPem) {
    const pem = settings.publicKeyPem;
    try {
      keys.set('RS256', pem.includes('BEGIN CERTIFICATE') ? await importX509(pem, 'RS256') : await importSPKI(pem, 'RS256'));
    } catch (err) {
      throw new ModelMoraError('VALIDATION_ERROR', 'Setting jwt_public_key: not a PEM RSA public key or certificate', {
        fieldErrors: [{ field: 'jwt_public_key', message: 'is not a PEM RSA public key or certificate' }],
        cause: err,
      });
    }
  }
  if (keys.size === 0) return undefined;
  const algorithms = [...keys.keys()];
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, async (header) => keys.get(header.alg)!, {
          algorithms,
          requiredClaims: ['exp'],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          ...(settings.issuer && { issuer: settings.issuer }),
          ...(settings.audience && { audience: settings.audience }),
        }));
      } catch (err) {
        throw new ModelMoraError('UNAUTHORIZED', err instanceof errors.JWTExpired ? 'The token has expired' : 'The token is not valid', { cause: describeJoseError(err) });
      }
      return { id: `jwt:${typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : '-'}`, scope: scopeOfClaim(payload['scope']) };
    },
  };
}

/** Reads the jwt_public_key file at start; a missing or unreadable file refuses to start. */
export async function readPublicKey(file: string | null | undefined): Promise<string | undefined> {
  if (!file) return undefined;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ModelMoraError('VALIDATION_ERROR', `Setting jwt_public_key: the key file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
      fieldErrors: [{ field: 'jwt_public_key', message: 'cannot be read' }],
      cause: err,
    });
  }
}

/** `"inference admin"` or `["inference", "admin"]` -> admin; neither named -> undefined. */
export function scopeOfClaim(claim: unknown): Scope | undefined {
  const names = typeof claim === 'string' ? claim.split(/\s+/) : Array.isArray(claim) ? claim.filter((s): s is string => typeof s === 'string') : [];
  if (names.includes('admin')) return 'admin';
  if (names.includes('inference')) return 'inference';
  return undefined;
}

/** jose's error code only: its messages may quote claims, which are the caller's data. */
function describeJoseError(err: unknown): string {
  return err instanceof errors.JOSEError ? err.code : 'ERR_JWT_INVALID';
}
