import { ModelMoraError } from '../domain/errors.js';
import type { OpenedFile } from './source.js';

/**
 * One GET of a file from `offset`, shared by the hub and url sources. The caller learns which
 * offset the server really honoured: a server may ignore Range and send the whole file (200),
 * and the store must then start over rather than append.
 */

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** A download failure worth another attempt (network, 5xx, a cut-off body). */
export function retryable(message: string, cause?: unknown, status?: number): ModelMoraError {
  return new ModelMoraError('DOWNLOAD_FAILED', message, { cause, details: { retryable: true, ...(status ? { status } : {}) } });
}

export function isRetryable(err: unknown): boolean {
  return err instanceof ModelMoraError && err.details?.['retryable'] === true;
}

/** Maps an HTTP status to a user-facing error; `what` names the file or model, never a path on disk. */
export function statusError(status: number, what: string): ModelMoraError {
  if (status === 401 || status === 403) {
    return new ModelMoraError('DOWNLOAD_FAILED', `Access to ${what} was refused (HTTP ${status}): a private or gated model needs hf_token`, { details: { status } });
  }
  if (status === 404) return new ModelMoraError('DOWNLOAD_FAILED', `${what} was not found (HTTP 404)`, { details: { status } });
  if (status === 408 || status === 429 || status >= 500) return retryable(`Downloading ${what} failed (HTTP ${status})`, undefined, status);
  return new ModelMoraError('DOWNLOAD_FAILED', `Downloading ${what} failed (HTTP ${status})`, { details: { status } });
}

export async function openRange(
  doFetch: FetchLike,
  url: string | URL,
  offset: number,
  what: string,
  signal?: AbortSignal,
  headers: Record<string, string> = {},
): Promise<OpenedFile> {
  const response = await send(doFetch, url, offset, what, signal, headers);
  if (offset > 0 && response.status === 416) {
    // The partial file may be from another version of the file: start over.
    await response.body?.cancel().catch(() => undefined);
    return openRange(doFetch, url, 0, what, signal, headers);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw statusError(response.status, what);
  }
  let honoured = 0;
  if (response.status === 206) {
    const match = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
    if (!match || Number(match[1]) !== offset) {
      await response.body?.cancel().catch(() => undefined);
      throw retryable(`The server answered ${what} with an unexpected range`);
    }
    honoured = offset;
  }
  return { offset: honoured, body: guardBody(response, what, signal) };
}

async function send(doFetch: FetchLike, url: string | URL, offset: number, what: string, signal: AbortSignal | undefined, headers: Record<string, string>): Promise<Response> {
  try {
    return await doFetch(url, {
      headers: { ...headers, ...(offset > 0 ? { range: `bytes=${offset}-` } : {}), 'accept-encoding': 'identity' },
      signal,
    });
  } catch (err) {
    throw wrapNetworkError(err, what, signal);
  }
}

/** Response bodies fail with bare TypeErrors ("terminated"); give them a code and keep them retryable. */
async function* guardBody(response: Response, what: string, signal: AbortSignal | undefined): AsyncIterable<Uint8Array> {
  if (!response.body) return;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) yield chunk;
  } catch (err) {
    throw wrapNetworkError(err, what, signal);
  }
}

export function wrapNetworkError(err: unknown, what: string, signal?: AbortSignal): ModelMoraError {
  if (err instanceof ModelMoraError) return err;
  if (signal?.aborted) return new ModelMoraError('CANCELLED', 'Download cancelled', { cause: err });
  return retryable(`Connection lost while downloading ${what}`, err);
}
