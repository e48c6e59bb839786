import { ModelMoraError } from './errors.js';

/**
 * A model id: a Hugging Face repo id `org/name` or `name`, ASCII only. Parsed once where it
 * enters (REST path, gRPC field, CLI argument, yaml) so nothing downstream sees a raw string
 * that could climb out of the cache.
 */
const SEGMENT = '[A-Za-z0-9][A-Za-z0-9._-]{0,95}';
const MODEL_ID = new RegExp(`^(${SEGMENT}/)?${SEGMENT}$`);

export class ModelRef {
  private constructor(
    readonly id: string,
    readonly org: string | undefined,
    readonly name: string,
  ) {}

  /** Accepts `org/name` and the URL-encoded `org%2Fname`; anything else is INVALID_MODEL_ID. */
  static parse(input: unknown): ModelRef {
    if (typeof input !== 'string') throw invalid('Model id must be a string');
    const known = parsed.get(input);
    if (known) return known;
    const ref = ModelRef.check(input);
    if (parsed.size >= 1024) parsed.clear();
    parsed.set(input, ref);
    return ref;
  }

  private static check(input: string): ModelRef {
    let id = input;
    if (/%2f/i.test(id)) {
      try {
        id = decodeURIComponent(id);
      } catch {
        throw invalid('Model id is not valid URL encoding');
      }
    }
    if (!MODEL_ID.test(id) || id.includes('..') || id.includes('--') || /\.git$/i.test(id)) {
      throw invalid(`Invalid model id '${printable(id)}': expected 'org/name' with letters, digits, '.', '_' or '-'`);
    }
    const slash = id.indexOf('/');
    return slash < 0 ? new ModelRef(id, undefined, id) : new ModelRef(id, id.slice(0, slash), id.slice(slash + 1));
  }

  static isValid(input: unknown): boolean {
    try {
      ModelRef.parse(input);
      return true;
    } catch {
      return false;
    }
  }

  /** Folder name in the Hugging Face cache layout: `models--org--name`. */
  get cacheFolder(): string {
    return `models--${this.id.replace('/', '--')}`;
  }

  toString(): string {
    return this.id;
  }
}

/**
 * Ids that parsed, by the text given: every inference parses its model id (twice over REST), and
 * callers repeat the same few. ModelRefs are immutable, so one can be shared; bounded, the
 * memory starts over when full. Refused ids are not kept (each refusal is checked again).
 */
const parsed = new Map<string, ModelRef>();

function invalid(message: string): ModelMoraError {
  return new ModelMoraError('INVALID_MODEL_ID', message);
}

/** Keeps error messages on one plain line, whatever bytes the caller sent. */
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean;
}
