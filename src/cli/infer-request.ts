import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { InferRequest } from '../client/client.js';
import { ModelMoraError, validationError } from '../domain/errors.js';
import { isPriority } from '../domain/task-type.js';

/** `infer`'s arguments and flags -> the client's InferRequest, checked before any request is sent. */

const MIME: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp', '.gif': 'image/gif', '.bmp': 'image/bmp' };

export async function buildInferRequest(
  words: readonly string[],
  flags: { image?: string[]; batch?: boolean; priority?: string; timeout?: string; param?: string[] },
): Promise<InferRequest> {
  const images = flags.image ?? [];
  if (images.length > 0 && words.length > 0) throw validationError([{ field: 'input', message: 'give text or --image, not both' }], 'Give text or --image, not both');
  if (images.length === 0 && words.length === 0) throw validationError([{ field: 'input', message: 'is required' }], 'Give a text to infer on, or --image FILE');
  const options: Omit<InferRequest, 'text' | 'texts' | 'image' | 'images'> = {};
  if (flags.priority !== undefined) {
    if (!isPriority(flags.priority)) throw validationError([{ field: 'priority', message: 'must be high, medium or low' }], '--priority must be high, medium or low');
    options.priority = flags.priority;
  }
  if (flags.timeout !== undefined) {
    const seconds = Number(flags.timeout);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600) {
      throw validationError([{ field: 'timeout_seconds', message: 'must be a whole number from 1 to 600' }], '--timeout must be a whole number of seconds from 1 to 600');
    }
    options.timeout_seconds = seconds;
  }
  if (flags.param && flags.param.length > 0) options.parameters = parseParams(flags.param);
  if (images.length > 0) {
    const urls = await Promise.all(images.map(dataUrl));
    return urls.length === 1 ? { image: urls[0]!, ...options } : { images: urls, ...options };
  }
  return flags.batch ? { texts: [...words], ...options } : { text: words.join(' '), ...options };
}

/** `k=v` pairs; a value that parses as JSON (numbers, true, [1,2]) is sent as that value. */
export function parseParams(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw validationError([{ field: 'param', message: `'${pair.slice(0, 40)}' is not key=value` }], `--param expects key=value, got '${pair.slice(0, 40)}'`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    out[pair.slice(0, eq)] = value;
  }
  return out;
}

async function dataUrl(file: string): Promise<string> {
  const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new ModelMoraError('INVALID_INPUT', `Cannot read image ${path.basename(file)} (${err.code ?? 'error'})`);
  });
  return `data:${MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream'};base64,${bytes.toString('base64')}`;
}
