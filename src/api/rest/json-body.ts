import type { FastifyInstance } from 'fastify';
import { ModelMoraError, validationError } from '../../domain/errors.js';

/**
 * The JSON body parser of the REST skin, replacing fastify's. Before JSON.parse it measures how
 * deeply objects and arrays nest, so a hostile body (100,000 `[`s fit in 200 KB) is refused at
 * once instead of reaching code that recurses (structuredClone, JSON.stringify, IPC to a
 * runner) and overflowing the stack. After parsing, keys that would poison a prototype when the
 * object is later merged (`__proto__`, `constructor.prototype`) are refused too. Both answers
 * are 400 VALIDATION_ERROR naming the field. fastify still enforces the body size limit (also on
 * chunked bodies, counted as they arrive) before this runs.
 */

export function installJsonBodyParser(app: FastifyInstance, maxDepth: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string, maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/** JSON text -> value, or VALIDATION_ERROR for an empty, invalid, too deep or poisoning body. */
export function parseJsonBody(text: string, maxDepth: number): unknown {
  if (text.length === 0) throw bodyError('Body is empty', 'must not be empty when Content-Type is application/json');
  const depth = nestingDepth(text, maxDepth);
  if (depth > maxDepth) {
    throw bodyError(`Body nests objects and arrays deeper than ${maxDepth} levels`, `is nested deeper than ${maxDepth} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bodyError('Body is not valid JSON', 'is not valid JSON');
  }
  // Only bodies whose text could hold such a key are walked (escapes such as \u005f included).
  if (/__proto__|constructor|\\u/.test(text)) {
    const field = poisonedKey(value);
    if (field !== undefined) throw validationError([{ field, message: 'is a forbidden key (prototype pollution)' }], `Body contains the forbidden key ${field}`);
  }
  return value;
}

/**
 * Deepest nesting of `{`/`[` outside strings, counted up to `stopAbove` + 1 (no need to go on).
 * Strings are skipped with indexOf, so a large base64 image costs little.
 */
export function nestingDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = stringEnd(text, i);
      if (i < 0) return deepest; // unterminated: JSON.parse reports it
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return deepest;
}

/** Index of the quote closing the string that opens at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  let at = start;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    let slashes = 0;
    while (text.charCodeAt(at - 1 - slashes) === 0x5c /* \ */) slashes++;
    if (slashes % 2 === 0) return at;
  }
}

/** The path of the first `__proto__` key or `constructor` object with a `prototype` key. Depth is already bounded. */
function poisonedKey(value: unknown, path = ''): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = poisonedKey(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const field = path ? `${path}.${key}` : key;
    const child = (value as Record<string, unknown>)[key];
    if (key === '__proto__') return field;
    if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) return `${field}.prototype`;
    const found = poisonedKey(child, field);
    if (found !== undefined) return found;
  }
  return undefined;
}

function bodyError(message: string, fieldMessage: string): ModelMoraError {
  return validationError([{ field: 'body', message: fieldMessage }], message);
}
