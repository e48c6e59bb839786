/**
 * The one line a failed command prints. A ModelMoraError's message is safe by contract and
 * ends with its code, for scripts; anything else may hold paths or secrets, so its text is
 * shown only when it names no path. Structural checks keep domain/errors.js out of the
 * --help path.
 */
export function describeError(err: unknown): string {
  // "no daemon at URL; start one with ..." reads as an instruction; a code after it adds nothing.
  if (isModelMoraError(err) && (err as { details?: { reason?: unknown } }).details?.reason === 'unreachable') return err.message;
  if (isModelMoraError(err)) return `${err.message} (${err.code})`;
  if (isInterrupt(err)) return 'interrupted';
  const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : '';
  if (message && !/(^|[\s'"`(=:,])(\/|~\/|[A-Za-z]:\\|file:)/.test(message) && message.length < 300) {
    return `internal error: ${message}`;
  }
  return 'internal error';
}

export function isInterrupt(err: unknown): boolean {
  return (err instanceof Error && err.name === 'AbortError') || (isModelMoraError(err) && err.code === 'CANCELLED');
}

function isModelMoraError(err: unknown): err is Error & { code: string } {
  return err instanceof Error && err.name === 'ModelMoraError' && typeof (err as { code?: unknown }).code === 'string';
}
