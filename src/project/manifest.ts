import { parseDocument, type Document } from 'yaml';
import { resolveConfig } from '../config/config.js';
import { parseDuration } from '../config/duration.js';
import { ModelMoraError, type ErrorCode, type FieldError } from '../domain/errors.js';
import { ModelRef } from '../domain/model-ref.js';
import { TASK_TYPES, isTaskType, type TaskType } from '../domain/task-type.js';

/**
 * modelmora.yaml: the schema lives here and only here. Validation is by hand (the schema is
 * small) so every message can name the field and the model it belongs to, the way a user
 * reads the file: `modelmora.yaml: models[1] (org/x): task must be one of ...`.
 */

export const MANIFEST_FILE = 'modelmora.yaml';

/** Where a model's files come from, as declared by `source:`. */
export type SourceSpec =
  | { kind: 'huggingface' }
  /** As written in the yaml (relative to the yaml's folder unless absolute). */
  | { kind: 'local'; path: string }
  | { kind: 'url'; url: string };

export interface ModelResources {
  memory_mb?: number;
  gpu_vram_mb?: number;
  cpu_threads?: number;
}

export interface ModelSpec {
  ref: ModelRef;
  /** Same as ref.id; kept for readable call sites. */
  id: string;
  revision: string;
  task: TaskType;
  source: SourceSpec;
  /** The `source:` value exactly as written, or undefined for Hugging Face. */
  sourceText: string | undefined;
  /** Glob patterns selecting the files to fetch; undefined = every file. */
  files: string[] | undefined;
  displayName: string | undefined;
  description: string | undefined;
  config: Record<string, unknown>;
  resources: ModelResources;
  /** Milliseconds; -1 pins; undefined = the server's keep_alive setting. */
  keepAliveMs: number | undefined;
  preload: boolean;
}

export interface Manifest {
  models: ModelSpec[];
  /** The `server:` section, already checked by resolveConfig (known keys, right types). */
  server: Record<string, unknown>;
}

export const MODEL_FIELDS = [
  'id', 'revision', 'task', 'source', 'files', 'display_name', 'description', 'config', 'resources', 'keep_alive', 'preload',
] as const;
const RESOURCE_FIELDS = ['memory_mb', 'gpu_vram_mb', 'cpu_threads'] as const;
const TOP_FIELDS = ['models', 'server'];
const DEFAULT_REVISION = 'main';

interface Problem extends FieldError {
  code: ErrorCode;
  where: string;
}

/** Collects every problem in the file before failing, so one run shows them all. */
class Problems {
  readonly list: Problem[] = [];
  constructor(private readonly label: string) {}

  add(where: string, field: string, message: string, code: ErrorCode = 'VALIDATION_ERROR'): void {
    this.list.push({ code, where, field, message });
  }

  throwIfAny(): void {
    if (this.list.length === 0) return;
    const lines = this.list.map((p) => `${p.where}: ${p.message}`);
    const shown = lines.slice(0, 3).join('; ');
    const more = lines.length > 3 ? `; and ${lines.length - 3} more` : '';
    throw new ModelMoraError(this.list[0]!.code, `${this.label}: ${shown}${more}`, {
      fieldErrors: this.list.map(({ field, message }) => ({ field, message })),
    });
  }
}

/** Parses the yaml text into a Document, turning syntax errors into one readable line. */
export function parseManifestDocument(text: string, label = MANIFEST_FILE): Document {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const firstLine = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? 'invalid YAML';
    throw new ModelMoraError('VALIDATION_ERROR', `${label}:${pos ? ` line ${pos.line}, column ${pos.col}:` : ''} ${firstLine}`);
  }
  return doc;
}

export function parseManifest(text: string, label = MANIFEST_FILE): Manifest {
  return manifestFromDocument(parseManifestDocument(text, label), label);
}

export function manifestFromDocument(doc: Document, label = MANIFEST_FILE): Manifest {
  const root: unknown = doc.toJS() ?? {};
  const problems = new Problems(label);
  if (!isPlainObject(root)) {
    problems.add('top level', '', 'expected a mapping with models: and server:');
    problems.throwIfAny();
  }
  const top = root as Record<string, unknown>;
  for (const key of Object.keys(top)) {
    if (!TOP_FIELDS.includes(key)) problems.add('top level', key, `${key} is not a known section (expected models or server)`);
  }

  const models: ModelSpec[] = [];
  const rawModels = top.models ?? [];
  if (!Array.isArray(rawModels)) {
    problems.add('models', 'models', 'models must be a list');
  } else {
    const seen = new Map<string, number>();
    rawModels.forEach((raw, index) => {
      const spec = parseModel(raw, index, problems);
      if (!spec) return;
      const earlier = seen.get(spec.id);
      if (earlier !== undefined) {
        problems.add(`models[${index}] (${spec.id})`, `models[${index}].id`, `id is already declared at models[${earlier}]`, 'MODEL_ALREADY_EXISTS');
        return;
      }
      seen.set(spec.id, index);
      models.push(spec);
    });
  }

  let server: Record<string, unknown> = {};
  if (top.server !== undefined && top.server !== null) {
    if (!isPlainObject(top.server)) problems.add('server', 'server', 'server must be a mapping of settings');
    else server = top.server;
  }
  problems.throwIfAny();
  try {
    // The settings table is the one schema for server:; an empty env checks the file alone.
    resolveConfig({ env: {}, yaml: server });
  } catch (err) {
    if (err instanceof ModelMoraError) {
      throw new ModelMoraError(err.code, err.message.startsWith(label) ? err.message : `${label}: server: ${err.message}`, {
        fieldErrors: err.fieldErrors,
      });
    }
    throw err;
  }
  return { models, server };
}

function parseModel(raw: unknown, index: number, problems: Problems): ModelSpec | undefined {
  const at = `models[${index}]`;
  if (!isPlainObject(raw)) {
    problems.add(at, at, 'each model must be a mapping with at least id and task');
    return undefined;
  }
  const rawId = raw.id;
  let ref: ModelRef | undefined;
  let where = at;
  if (rawId === undefined) {
    problems.add(at, `${at}.id`, 'id is required');
  } else {
    try {
      ref = ModelRef.parse(rawId);
      where = `${at} (${ref.id})`;
    } catch (err) {
      problems.add(at, `${at}.id`, (err as Error).message, 'INVALID_MODEL_ID');
    }
  }
  const before = problems.list.length;
  const bad = (field: string, message: string, code: ErrorCode = 'VALIDATION_ERROR') =>
    problems.add(where, `${at}.${field}`, message, code);

  for (const key of Object.keys(raw)) {
    if (!(MODEL_FIELDS as readonly string[]).includes(key)) bad(key, `${key} is not a known field (expected one of ${MODEL_FIELDS.join(', ')})`);
  }

  const revision = raw.revision ?? DEFAULT_REVISION;
  if (typeof revision !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/.test(revision) || revision.includes('..')) {
    bad('revision', 'revision must be a branch, tag or commit (letters, digits, . _ / -)');
  }

  const task = raw.task;
  if (task === undefined) bad('task', `task is required (one of ${TASK_TYPES.join(', ')})`, 'INVALID_TASK_TYPE');
  else if (!isTaskType(task)) bad('task', `task must be one of ${TASK_TYPES.join(', ')}`, 'INVALID_TASK_TYPE');

  const source = parseSource(raw.source, bad);
  const files = parsePatterns(raw.files, bad);

  for (const field of ['display_name', 'description'] as const) {
    if (raw[field] !== undefined && typeof raw[field] !== 'string') bad(field, `${field} must be a string`);
  }
  if (raw.config !== undefined && !isPlainObject(raw.config)) bad('config', 'config must be a mapping');

  const resources: ModelResources = {};
  if (raw.resources !== undefined) {
    if (!isPlainObject(raw.resources)) bad('resources', 'resources must be a mapping');
    else {
      for (const [key, value] of Object.entries(raw.resources)) {
        if (!(RESOURCE_FIELDS as readonly string[]).includes(key)) {
          bad(`resources.${key}`, `resources.${key} is not known (expected ${RESOURCE_FIELDS.join(', ')})`);
        } else if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
          bad(`resources.${key}`, `resources.${key} must be a whole number >= 0`);
        } else resources[key as (typeof RESOURCE_FIELDS)[number]] = value;
      }
    }
  }

  let keepAliveMs: number | undefined;
  if (raw.keep_alive !== undefined) {
    try {
      keepAliveMs = parseDuration(raw.keep_alive);
    } catch (err) {
      bad('keep_alive', `keep_alive: ${(err as Error).message}`);
    }
  }
  if (raw.preload !== undefined && typeof raw.preload !== 'boolean') bad('preload', 'preload must be true or false');

  if (!ref || problems.list.length > before || !source || !isTaskType(task)) return undefined;
  return {
    ref,
    id: ref.id,
    revision: revision as string,
    task,
    source,
    sourceText: typeof raw.source === 'string' ? raw.source : undefined,
    files,
    displayName: raw.display_name as string | undefined,
    description: raw.description as string | undefined,
    config: (raw.config as Record<string, unknown> | undefined) ?? {},
    resources,
    keepAliveMs,
    preload: raw.preload === true,
  };
}

/** `source:` absent = Hugging Face; `./x`, `../x` or `/x` = a local folder; `https://` = a URL. */
export function parseSourceText(value: string): SourceSpec | { code: ErrorCode; message: string } {
  if (value.startsWith('.') || value.startsWith('/')) {
    if (/[\u0000-\u001f]/.test(value)) return { code: 'VALIDATION_ERROR', message: 'source path has control characters' };
    return { kind: 'local', path: value };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !value.startsWith('https://')) {
    return { code: 'URL_NOT_ALLOWED', message: 'source URL must use https://' };
  }
  if (value.startsWith('https://')) {
    try {
      const url = new URL(value);
      if (url.username || url.password) return { code: 'URL_NOT_ALLOWED', message: 'source URL must not carry credentials' };
      return { kind: 'url', url: url.href };
    } catch {
      return { code: 'URL_NOT_ALLOWED', message: 'source is not a valid URL' };
    }
  }
  return { code: 'VALIDATION_ERROR', message: 'source must be a folder path starting with . or /, or an https:// URL (leave it out for Hugging Face)' };
}

function parseSource(raw: unknown, bad: (field: string, message: string, code?: ErrorCode) => void): SourceSpec | undefined {
  if (raw === undefined || raw === null) return { kind: 'huggingface' };
  if (typeof raw !== 'string') {
    bad('source', 'source must be a string');
    return undefined;
  }
  const parsed = parseSourceText(raw);
  if ('code' in parsed) {
    bad('source', parsed.message, parsed.code);
    return undefined;
  }
  return parsed;
}

/** Glob patterns are matched against repo-relative paths, so they must look like one. */
export function checkPattern(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string' || pattern.trim() === '') return 'files entries must be non-empty strings';
  if (pattern.startsWith('/') || pattern.includes('\\') || pattern.split('/').includes('..') || /[\u0000-\u001f]/.test(pattern)) {
    return `files pattern '${pattern.slice(0, 60)}' must be a relative path without '..' or backslashes`;
  }
  return undefined;
}

function parsePatterns(raw: unknown, bad: (field: string, message: string) => void): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || list.length === 0) {
    bad('files', 'files must be a non-empty list of glob patterns');
    return undefined;
  }
  for (const pattern of list) {
    const why = checkPattern(pattern);
    if (why) {
      bad('files', why);
      return undefined;
    }
  }
  return list as string[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
