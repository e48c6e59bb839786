import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { isLoopbackHost } from '../auth/network-policy.js';
import type { Config } from '../config/config.js';
import { ModelMoraError } from '../domain/errors.js';

/**
 * Checks that refuse to start rather than serve unsafely (DESIGN.md §6): a non-loopback bind
 * without any token source, and TLS settings that cannot be honoured. Both run before anything
 * listens; the CLI prints the message and exits non-zero.
 */

/** A daemon reachable from other machines must not serve everyone everything. */
export function checkBind(host: string, authEnabled: boolean): void {
  if (authEnabled || isLoopbackHost(host)) return;
  throw new ModelMoraError(
    'VALIDATION_ERROR',
    `Refusing to listen on ${host} without authentication: a non-loopback address needs tokens. ` +
      'Create one with `modelmora token create --scope admin`, set MODELMORA_TOKENS or jwt_secret / jwt_public_key, or bind 127.0.0.1.',
    { fieldErrors: [{ field: 'host', message: 'is not a loopback address and no token source is configured' }] },
  );
}

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/**
 * The certificate and key when tls_cert and tls_key are set; undefined when neither is. One
 * without the other, a file that cannot be read, or a key that does not fit the certificate
 * refuses to start: never a silent fall back to plaintext.
 */
export async function loadTls(config: Pick<Config, 'tls_cert' | 'tls_key'>): Promise<TlsFiles | undefined> {
  if (!config.tls_cert && !config.tls_key) return undefined;
  if (!config.tls_cert || !config.tls_key) {
    const missing = config.tls_cert ? 'tls_key' : 'tls_cert';
    throw tlsError(missing, `TLS needs both tls_cert and tls_key; ${missing} is not set`);
  }
  const cert = await readPem(config.tls_cert, 'tls_cert');
  const key = await readPem(config.tls_key, 'tls_key');
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw tlsError('tls_key', 'tls_cert and tls_key are not a PEM certificate and its private key', err);
  }
  return { cert, key };
}

async function readPem(file: string, setting: 'tls_cert' | 'tls_key'): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw tlsError(setting, `Setting ${setting}: the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); not starting without TLS`, err);
  }
}

function tlsError(field: string, message: string, cause?: unknown): ModelMoraError {
  return new ModelMoraError('VALIDATION_ERROR', message, { fieldErrors: [{ field, message: 'is not usable' }], ...(cause !== undefined && { cause }) });
}
