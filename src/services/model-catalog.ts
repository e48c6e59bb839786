import type { Config } from '../config/config.js';
import { parseDuration } from '../config/duration.js';
import { ModelMoraError } from '../domain/errors.js';
import { ModelRef } from '../domain/model-ref.js';
import type { ModelSource } from '../hub/source.js';
import { toApiLockFile, LOCK_VERSION, type LockEntry } from '../project/lockfile.js';
import type { ModelSpec } from '../project/manifest.js';
import type { Project } from '../project/project.js';
import { lockedSnapshot, pullEntry, resolveEntry, sourceFactory } from '../project/sync.js';
import type { ApiLockFile, UnresolvedModel } from '../project/lockfile.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ModelServingSpec } from '../scheduler/serving-spec.js';
import type { ModelStore } from '../store/model-store.js';
import type { ModelRecord, Registry } from '../store/registry.js';
import type { DownloadService } from './download-service.js';

export interface CatalogDeps {
  config: Readonly<Config>;
  registry: Registry;
  store: ModelStore;
  metrics: Metrics;
  /** modelmora.yaml and modelmora.lock, when the daemon was started in a project. */
  project?: Project | undefined;
  /**
   * The one owner of downloads, for the lazy one on first use. A thunk: DownloadService is built
   * over this catalog's `download` port, so it exists only once the catalog does.
   */
  downloads: () => Pick<DownloadService, 'fetch'>;
}

/**
 * Where the daemon's models are and how to serve them: joins the registry, modelmora.yaml,
 * modelmora.lock and the cache. It answers the engine's lookups (fetching files on first use),
 * fetches a model's files for DownloadService (the one owner of downloads), and builds the lock
 * file the API returns. No HTTP or gRPC here.
 */
export class ModelCatalog {
  /** Lock entries: from modelmora.lock, or resolved by a download of a model registered via API. */
  private readonly entries = new Map<string, LockEntry>();
  private readonly specs = new Map<string, ModelSpec>();
  /** Serving specs of models whose files are in place, keyed by id, valid for one updated_at. */
  private readonly ready = new Map<string, { updatedAt: string; spec: ModelServingSpec }>();
  private readonly sourceFor: (spec: ModelSpec) => ModelSource;

  constructor(private readonly deps: CatalogDeps) {
    this.sourceFor = sourceFactory(deps.config, deps.project?.dir ?? process.cwd(), deps.store.spoolDir);
    for (const spec of deps.project?.manifest.models ?? []) this.specs.set(spec.id, spec);
    for (const entry of deps.project?.lock?.models ?? []) this.entries.set(entry.model_id, entry);
  }

  /** Registers every model of modelmora.yaml (pinned to its locked commit) in the registry; those already in the cache as ready. */
  async seed(): Promise<string[]> {
    const preload: string[] = [];
    for (const spec of this.specs.values()) {
      const entry = this.entries.get(spec.id);
      const { record } = await this.deps.registry.upsertFromManifest({
        model_id: spec.id,
        task_type: spec.task,
        revision: spec.revision,
        ...(entry ? { commit: entry.commit } : {}),
        ...(spec.sourceText !== undefined ? { source: spec.sourceText } : {}),
        ...(spec.displayName !== undefined ? { display_name: spec.displayName } : {}),
        ...(spec.description !== undefined ? { description: spec.description } : {}),
        config: spec.config,
        resources: spec.resources,
        ...(spec.keepAliveMs !== undefined ? { keep_alive: spec.keepAliveMs < 0 ? -1 : `${spec.keepAliveMs}ms` } : {}),
        preload: spec.preload,
      });
      // The document's states: a model whose locked files are all in the cache is ready now, not at its first load.
      if (entry && record.status !== 'ready' && (await this.deps.store.isComplete(ModelRef.parse(spec.id), lockedSnapshot(entry)))) await this.markReady(spec.id);
      if (spec.preload) preload.push(spec.id);
    }
    return preload;
  }

  /** The engine's lookup: the model's files in the cache (fetched now if missing) and how to serve it. */
  async lookup(modelId: string): Promise<ModelServingSpec> {
    // Every inference asks: the cached answer is checked against the record without copying it.
    const current = this.deps.registry.view(modelId);
    const cached = this.ready.get(current.model_id);
    if (cached && cached.updatedAt === current.updated_at) return cached.spec;
    const folder = await this.ensureFiles(await this.deps.registry.get(modelId));
    const fresh = await this.deps.registry.get(modelId);
    const spec = this.servingSpec(fresh, folder);
    this.ready.set(fresh.model_id, { updatedAt: fresh.updated_at, spec });
    return spec;
  }

  /** DownloadService's port: fetch the model's files into the cache, verified. */
  download = async (modelId: string, signal: AbortSignal): Promise<void> => this.fetch(await this.deps.registry.get(modelId), signal);

  /** Deletes the model's cached files (DELETE /models/{id}). */
  removeFiles = async (modelId: string): Promise<void> => {
    this.ready.delete(modelId);
    this.entries.delete(modelId);
    await this.deps.store.remove(ModelRef.parse(modelId));
  };

  /**
   * The API's LockFile: every registered model pinned to a commit (resolving those not yet
   * locked). One model that cannot be resolved (gone from its hub, a folder that moved) is
   * listed in `unresolved` with its error; the others are still pinned, as `modelmora lock` would.
   */
  lockFile = async (): Promise<ApiLockFile> => {
    const { data } = await this.deps.registry.list({ page: 1, page_size: 100_000 });
    const models: LockEntry[] = [];
    const unresolved: UnresolvedModel[] = [];
    for (const record of data) {
      let entry = this.entries.get(record.model_id);
      if (!entry) {
        try {
          entry = await resolveEntry(this.specOf(record), { sourceFor: this.sourceFor });
        } catch (err) {
          const error = err instanceof ModelMoraError ? err : new ModelMoraError('DOWNLOAD_FAILED', `Model ${record.model_id} could not be resolved`, { cause: err });
          unresolved.push({ model_id: record.model_id, error_code: error.code, message: error.message });
          continue;
        }
        this.entries.set(record.model_id, entry);
      }
      models.push(entry);
    }
    return toApiLockFile({ version: LOCK_VERSION, models }, new Date(), unresolved);
  };

  private async ensureFiles(record: ModelRecord): Promise<string> {
    const ref = ModelRef.parse(record.model_id);
    const entry = this.entries.get(record.model_id);
    if (entry && (await this.deps.store.isComplete(ref, lockedSnapshot(entry)))) {
      if (record.status !== 'ready') await this.markReady(record.model_id);
      return this.deps.store.snapshotFolder(ref, entry.commit);
    }
    if (!entry && record.status === 'ready') {
      const commit = record.commit ?? (await this.deps.store.readRef(ref, record.revision));
      if (commit) return this.deps.store.snapshotFolder(ref, commit);
    }
    // Lazy download on first use: the same download (and registry states) an API call starts.
    await this.deps.downloads().fetch(record.model_id);
    const done = this.entries.get(record.model_id);
    if (!done) throw new ModelMoraError('DOWNLOAD_FAILED', `Model ${record.model_id} has no files in the cache`);
    return this.deps.store.snapshotFolder(ref, done.commit);
  }

  private async fetch(record: ModelRecord, signal: AbortSignal): Promise<void> {
    const spec = this.specOf(record);
    const sync = { store: this.deps.store, sourceFor: this.sourceFor, signal };
    const entry = this.entries.get(record.model_id) ?? (await resolveEntry(spec, sync));
    await pullEntry(spec, entry, sync, {
      onEvent: (modelId, event) => {
        if (event.type === 'file' && !event.cached) {
          const size = entry.files.find((f) => f.path === event.path)?.size ?? 0;
          this.deps.metrics.downloadBytes(modelId, size);
        }
      },
    });
    this.entries.set(record.model_id, entry);
  }

  private async markReady(modelId: string): Promise<void> {
    const { started } = await this.deps.registry.startDownload(modelId);
    if (started) await this.deps.registry.setStatus(modelId, 'ready');
  }

  private servingSpec(record: ModelRecord, folder: string): ModelServingSpec {
    const entry = this.entries.get(record.model_id);
    const num = (key: string) => (typeof record.config[key] === 'number' ? (record.config[key] as number) : undefined);
    const threads = this.deps.config.runner_threads || record.resource_requirements.cpu_threads || 0;
    const weightsBytes = entry?.files.reduce((sum, f) => sum + f.size, 0);
    const spin = (weightsBytes ?? 0) >= this.deps.config.runner_spin_mb * 1024 * 1024;
    const spec: ModelServingSpec = {
      load: { modelId: record.model_id, taskType: record.task_type, folder, config: record.config, ...(threads ? { threads } : {}), ...(spin ? { spin: true } : {}) },
    };
    if (record.keep_alive !== undefined) spec.keepAliveMs = parseDuration(record.keep_alive);
    if (record.resource_requirements.memory_mb) spec.declaredMemoryMb = record.resource_requirements.memory_mb;
    if (weightsBytes !== undefined) spec.weightsBytes = weightsBytes;
    const maxBatchSize = num('max_batch_size');
    const maxDelayMs = num('max_delay_ms');
    const maxQueueSize = num('max_queue_size');
    if (maxBatchSize !== undefined) spec.maxBatchSize = maxBatchSize;
    if (maxDelayMs !== undefined) spec.maxDelayMs = maxDelayMs;
    if (maxQueueSize !== undefined) spec.maxQueueSize = maxQueueSize;
    return spec;
  }

  /** The yaml entry of the model, or one built from its registry record (models added over the API). */
  private specOf(record: ModelRecord): ModelSpec {
    const known = this.specs.get(record.model_id);
    if (known) return known;
    const url = record.source_url;
    return {
      ref: ModelRef.parse(record.model_id),
      id: record.model_id,
      revision: record.revision,
      task: record.task_type,
      source: url ? { kind: 'url', url } : { kind: 'huggingface' },
      sourceText: url,
      files: undefined,
      displayName: record.display_name,
      description: record.description,
      config: record.config,
      resources: record.resource_requirements,
      keepAliveMs: record.keep_alive === undefined ? undefined : parseDuration(record.keep_alive),
      preload: record.preload,
    };
  }
}
