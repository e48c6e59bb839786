import path from 'node:path';
import { Low } from 'lowdb';
import { ModelMoraError } from '../domain/errors.js';
import { ModelRef } from '../domain/model-ref.js';
import type { TaskType } from '../domain/task-type.js';
import { AtomicJsonFile } from './atomic-file.js';

/**
 * The model registry: which models this daemon serves and where each one stands
 * (registered -> downloading -> ready | failed). One lowdb JSON file, `<home>/registry.json`,
 * written atomically by one writer at a time. It knows nothing of HTTP or gRPC.
 */

export type ModelState = 'registered' | 'downloading' | 'ready' | 'failed';
export const MODEL_STATES: readonly ModelState[] = ['registered', 'downloading', 'ready', 'failed'];

export interface ResourceRequirements {
  memory_mb?: number;
  gpu_vram_mb?: number;
  cpu_threads?: number;
}

/** The API document's ModelResponse fields (§2.3.1). */
export interface ModelResponse {
  model_id: string;
  version: string;
  task_type: TaskType;
  display_name?: string;
  description?: string;
  status: ModelState;
  resource_requirements: ResourceRequirements;
  config: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  /** Not in the document: why the last download failed, present only when status is failed. */
  error?: string;
}

/** What the registry stores: ModelResponse plus what the daemon needs to fetch and serve it. */
export interface ModelRecord extends ModelResponse {
  /** 'huggingface' or a local folder (`source: ./path` in modelmora.yaml). */
  source: string;
  source_url?: string;
  /** Revision asked for (branch, tag or commit); the API's `version`. */
  revision: string;
  /** Commit the revision resolved to, once known (from the lock). */
  commit?: string;
  /** Ollama-style duration ('5m', '-1'); absent: the server default. */
  keep_alive?: string | number;
  preload: boolean;
}

export interface RegisterInput {
  model_id: string;
  task_type: TaskType;
  version?: string;
  display_name?: string;
  description?: string;
  source_url?: string;
  resource_requirements?: ResourceRequirements;
  config?: Record<string, unknown>;
}

export interface UpdateInput {
  display_name?: string;
  description?: string;
  config?: Record<string, unknown>;
  resource_requirements?: ResourceRequirements;
}

/** One model entry of modelmora.yaml, as the project module reads it. */
export interface ManifestModelSpec {
  model_id: string;
  task_type: TaskType;
  revision?: string;
  commit?: string;
  source?: string;
  source_url?: string;
  display_name?: string;
  description?: string;
  config?: Record<string, unknown>;
  resources?: ResourceRequirements;
  keep_alive?: string | number;
  preload?: boolean;
}

export interface ListQuery {
  task_type?: TaskType;
  status?: ModelState;
  page?: number;
  page_size?: number;
}

export interface PaginationMeta {
  total: number;
  page: number;
  page_size: number;
  total_pages: number;
}

interface RegistryData {
  version: 1;
  models: Record<string, ModelRecord>;
}

/** Allowed status moves; a retry re-enters downloading from failed or ready. */
const TRANSITIONS: Record<ModelState, readonly ModelState[]> = {
  registered: ['downloading'],
  downloading: ['ready', 'failed'],
  ready: ['downloading'],
  failed: ['downloading'],
};

export interface OpenRegistryOptions {
  home: string;
  now?: () => Date;
}

/**
 * A stored record as it is, without a copy. Records are never changed in place (every change
 * writes a fresh copy, see mutate) and are frozen, so holding one is safe; it is read-only.
 */
export type ModelRecordView = Readonly<Omit<ModelRecord, 'config' | 'resource_requirements'>> & {
  readonly config: Readonly<Record<string, unknown>>;
  readonly resource_requirements: Readonly<ResourceRequirements>;
};

export class Registry {
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: Low<RegistryData>,
    private readonly now: () => Date,
    /** Recoveries made while opening (backup used, interrupted downloads); the daemon logs them. */
    readonly warnings: readonly string[],
  ) {
    deepFreeze(db.data);
  }

  /**
   * Opens (or creates) `<home>/registry.json`. A download that was running when the last daemon
   * died cannot be resumed from here, so such records are marked failed with a reason.
   */
  static async open(options: OpenRegistryOptions): Promise<Registry> {
    const adapter = new AtomicJsonFile<RegistryData>(path.join(options.home, 'registry.json'), isRegistryData);
    const db = new Low<RegistryData>(adapter, { version: 1, models: {} });
    await db.read();
    const warnings = [...adapter.warnings];
    const now = options.now ?? (() => new Date());
    const registry = new Registry(db, now, warnings);
    const interrupted = Object.values(db.data.models).filter((m) => m.status === 'downloading');
    if (interrupted.length > 0) {
      await registry.mutate((data) => {
        for (const record of interrupted) {
          const current = find(data, record.model_id);
          if (!current) continue;
          current.status = 'failed';
          current.error = 'Download interrupted by a daemon restart; download again';
          current.updated_at = now().toISOString();
        }
      });
      warnings.push(`marked ${interrupted.length} interrupted download(s) as failed: ${interrupted.map((m) => m.model_id).join(', ')}`);
    }
    return registry;
  }

  async register(input: RegisterInput): Promise<ModelRecord> {
    const id = ModelRef.parse(input.model_id).id;
    return this.mutate((data) => {
      if (find(data, id)) throw new ModelMoraError('MODEL_ALREADY_EXISTS', `Model '${id}' is already registered`);
      const at = this.now().toISOString();
      const version = input.version ?? 'main';
      const record: ModelRecord = {
        model_id: id,
        version,
        task_type: input.task_type,
        ...(input.display_name !== undefined && { display_name: input.display_name }),
        ...(input.description !== undefined && { description: input.description }),
        status: 'registered',
        resource_requirements: { ...input.resource_requirements },
        config: { ...input.config },
        created_at: at,
        updated_at: at,
        source: 'huggingface',
        ...(input.source_url !== undefined && { source_url: input.source_url }),
        revision: version,
        preload: false,
      };
      data.models[id] = record;
      return clone(record);
    });
  }

  /** A copy the caller may change. */
  async get(modelId: string): Promise<ModelRecord> {
    return clone(this.view(modelId));
  }

  /**
   * The stored record itself, read-only, with no copy: for the request path, which reads a
   * model's task type on every inference and must not pay a structured clone for it.
   */
  view(modelId: string): ModelRecordView {
    const record = find(this.db.data, modelId);
    if (!record) throw notFound(modelId);
    return record;
  }

  async has(modelId: string): Promise<boolean> {
    return Object.hasOwn(this.db.data.models, modelId);
  }

  /** Sorted by model_id so pages are stable. */
  async list(query: ListQuery = {}): Promise<{ data: ModelRecord[]; meta: PaginationMeta }> {
    const page = Math.max(1, Math.floor(query.page ?? 1));
    const pageSize = Math.min(100, Math.max(1, Math.floor(query.page_size ?? 20)));
    const all = Object.values(this.db.data.models)
      .filter((m) => query.task_type === undefined || m.task_type === query.task_type)
      .filter((m) => query.status === undefined || m.status === query.status)
      .sort((a, b) => (a.model_id < b.model_id ? -1 : a.model_id > b.model_id ? 1 : 0));
    const data = all.slice((page - 1) * pageSize, page * pageSize).map(clone);
    return { data, meta: { total: all.length, page, page_size: pageSize, total_pages: Math.ceil(all.length / pageSize) } };
  }

  async update(modelId: string, changes: UpdateInput): Promise<ModelRecord> {
    return this.mutate((data) => {
      const record = find(data, modelId);
      if (!record) throw notFound(modelId);
      if (changes.display_name !== undefined) record.display_name = changes.display_name;
      if (changes.description !== undefined) record.description = changes.description;
      if (changes.config !== undefined) record.config = { ...changes.config };
      if (changes.resource_requirements !== undefined) record.resource_requirements = { ...changes.resource_requirements };
      record.updated_at = this.now().toISOString();
      return clone(record);
    });
  }

  async remove(modelId: string): Promise<void> {
    await this.mutate((data) => {
      if (!find(data, modelId)) throw notFound(modelId);
      delete data.models[modelId];
    });
  }

  /** Moves a model along registered -> downloading -> ready | failed; any other move is a bug. */
  async setStatus(modelId: string, status: ModelState, error?: string): Promise<ModelRecord> {
    return this.mutate((data) => {
      const record = find(data, modelId);
      if (!record) throw notFound(modelId);
      if (!TRANSITIONS[record.status].includes(status)) {
        throw new ModelMoraError('INTERNAL_ERROR', `Model '${modelId}' cannot go from ${record.status} to ${status}`);
      }
      record.status = status;
      if (status === 'failed') record.error = error ?? 'Download failed';
      else delete record.error;
      record.updated_at = this.now().toISOString();
      return clone(record);
    });
  }

  /**
   * Claims the model for a download: `started` is false if one is already running. Checking and
   * moving in the same serialised write means two callers can never both start one.
   */
  async startDownload(modelId: string): Promise<{ record: ModelRecord; started: boolean }> {
    return this.mutate((data) => {
      const record = find(data, modelId);
      if (!record) throw notFound(modelId);
      if (record.status === 'downloading') return { record: clone(record), started: false };
      record.status = 'downloading';
      delete record.error;
      record.updated_at = this.now().toISOString();
      return { record: clone(record), started: true };
    });
  }

  /**
   * Seeds a model from modelmora.yaml at daemon start. The manifest owns what it declares;
   * status and created_at are kept, except that a different revision, commit or source means
   * the cached files no longer match, so the model is back to registered.
   */
  async upsertFromManifest(spec: ManifestModelSpec): Promise<{ record: ModelRecord; created: boolean }> {
    const id = ModelRef.parse(spec.model_id).id;
    return this.mutate((data) => {
      const at = this.now().toISOString();
      const previous = find(data, id);
      const revision = spec.revision ?? 'main';
      const source = spec.source ?? 'huggingface';
      const record: ModelRecord = {
        model_id: id,
        version: revision,
        task_type: spec.task_type,
        status: previous?.status ?? 'registered',
        resource_requirements: { ...spec.resources },
        config: { ...spec.config },
        created_at: previous?.created_at ?? at,
        updated_at: at,
        source,
        revision,
        preload: spec.preload ?? false,
      };
      const displayName = spec.display_name ?? previous?.display_name;
      const description = spec.description ?? previous?.description;
      if (displayName !== undefined) record.display_name = displayName;
      if (description !== undefined) record.description = description;
      if (spec.source_url !== undefined) record.source_url = spec.source_url;
      if (spec.commit !== undefined) record.commit = spec.commit;
      if (spec.keep_alive !== undefined) record.keep_alive = spec.keep_alive;
      if (previous?.status === 'failed' && previous.error !== undefined) record.error = previous.error;
      const moved =
        previous !== undefined &&
        (previous.revision !== revision || previous.source !== source || (spec.commit !== undefined && previous.commit !== spec.commit));
      if (moved && previous.status !== 'downloading') {
        record.status = 'registered';
        delete record.error;
      }
      data.models[id] = record;
      return { record: clone(record), created: previous === undefined };
    });
  }

  /** Applies a change and persists it; changes run one at a time, in call order. */
  private mutate<R>(change: (data: RegistryData) => R): Promise<R> {
    const run = this.writes.then(async () => {
      const draft = structuredClone(this.db.data);
      const result = change(draft);
      // Only a successful write becomes the new in-memory state, so memory never runs ahead of disk.
      await this.db.adapter.write(draft);
      // Frozen once written: view() hands these objects out without copying them.
      this.db.data = deepFreeze(draft);
      return result;
    });
    this.writes = run.catch(() => undefined);
    return run;
  }
}

/** The API's ModelResponse: internal fields (source, revision, commit, keep_alive...) left out. */
export function toModelResponse(record: ModelRecord): ModelResponse {
  const out: ModelResponse = {
    model_id: record.model_id,
    version: record.version,
    task_type: record.task_type,
    status: record.status,
    resource_requirements: { ...record.resource_requirements },
    config: { ...record.config },
    created_at: record.created_at,
    updated_at: record.updated_at,
  };
  if (record.display_name !== undefined) out.display_name = record.display_name;
  if (record.description !== undefined) out.description = record.description;
  if (record.status === 'failed' && record.error !== undefined) out.error = record.error;
  return out;
}

/** Own keys only: a model may be called `constructor` or `toString`. */
function find(data: RegistryData, modelId: string): ModelRecord | undefined {
  return Object.hasOwn(data.models, modelId) ? data.models[modelId] : undefined;
}

function notFound(modelId: string): ModelMoraError {
  return new ModelMoraError('MODEL_NOT_FOUND', `Model '${modelId}' not found in registry`);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return Object.freeze(value);
}

function isRegistryData(value: unknown): value is RegistryData {
  if (typeof value !== 'object' || value === null) return false;
  const models = (value as { models?: unknown }).models;
  if (typeof models !== 'object' || models === null || Array.isArray(models)) return false;
  return Object.values(models).every(
    (m) =>
      typeof m === 'object' &&
      m !== null &&
      typeof (m as ModelRecord).model_id === 'string' &&
      MODEL_STATES.includes((m as ModelRecord).status),
  );
}
