import { ModelMoraError } from '../domain/errors.js';
import type { Engine, ModelStatus } from '../domain/engine.js';
import type { ModelRef } from '../domain/model-ref.js';
import { checkUrl } from '../hub/url-guard.js';
import type { ListQuery, ModelRecord, PaginationMeta, RegisterInput, Registry, UpdateInput } from '../store/registry.js';
import type { DownloadService } from './download-service.js';
import type { ApiLockFile } from '../project/lockfile.js';

/**
 * The model catalog as every skin sees it: register, read, update and delete models, start their
 * downloads, load and unload them, and build the lock file. A rule such as "a loaded model needs
 * force to be deleted" lives here once. Nothing here knows HTTP or gRPC; every call takes the id
 * already parsed into a ModelRef where it entered.
 */

/** The lock file of the served models, in the API document's shape. */
export type LockFileSource = () => Promise<ApiLockFile>;

export interface ModelServiceDeps {
  registry: Registry;
  engine: Engine;
  downloads: DownloadService;
  /** Deletes a model's cached files; absent: files are left in the cache. */
  removeFiles?: ((modelId: string) => Promise<void>) | undefined;
  /** The lock file of the served models. */
  lockFile: LockFileSource;
}

export class ModelService {
  constructor(private readonly deps: ModelServiceDeps) {}

  /**
   * Registers a model; source_url gets the SSRF guard's checks that need no DNS (https only, no
   * credentials, no local host name, no loopback, private, link-local or metadata IP literal,
   * decimal and hex forms included) so such a URL is refused where it enters. Host names are
   * resolved and checked again (and on every redirect) when the download runs.
   */
  async register(ref: ModelRef, input: Omit<RegisterInput, 'model_id'>): Promise<ModelRecord> {
    if (input.source_url !== undefined) {
      try {
        checkUrl(input.source_url);
      } catch (err) {
        if (!(err instanceof ModelMoraError)) throw err;
        throw new ModelMoraError(err.code, err.message, { fieldErrors: [{ field: 'source_url', message: err.message.replace(/^source_url not allowed: /, '') }] });
      }
    }
    return this.deps.registry.register({ ...input, model_id: ref.id });
  }

  list(query: ListQuery): Promise<{ data: ModelRecord[]; meta: PaginationMeta }> {
    return this.deps.registry.list(query);
  }

  get(ref: ModelRef): Promise<ModelRecord> {
    return this.deps.registry.get(ref.id);
  }

  update(ref: ModelRef, changes: UpdateInput): Promise<ModelRecord> {
    return this.deps.registry.update(ref.id, changes);
  }

  /**
   * Removes a model from the registry and its files from the cache. A loaded or downloading model
   * is MODEL_IN_USE unless `force`, which cancels the download and unloads it first.
   */
  async remove(ref: ModelRef, force: boolean): Promise<void> {
    const { registry, engine, downloads } = this.deps;
    const id = ref.id;
    await registry.get(id);
    const status = engine.models().find((m) => m.model_id === id && m.state !== 'unloaded');
    const downloading = downloads.isRunning(id);
    if ((status || downloading) && !force) {
      throw new ModelMoraError('MODEL_IN_USE', `Model '${id}' is ${status ? status.state : 'downloading'}; unload it first or use force=true`, {
        details: { state: status ? status.state : 'downloading' },
      });
    }
    if (downloading) await downloads.cancel(id);
    if (status) {
      await engine.unload(id).catch((err: unknown) => {
        // It may have unloaded on its own meanwhile (keep_alive); that is what we wanted.
        if (!(err instanceof ModelMoraError && err.code === 'MODEL_NOT_LOADED')) throw err;
      });
    }
    if (this.deps.removeFiles) await this.deps.removeFiles(id);
    await registry.remove(id);
  }

  /** Starts fetching the files in the background and answers at once (the document's DownloadResponse). */
  async download(ref: ModelRef): Promise<{ model_id: string; status: 'downloading'; message: string }> {
    const { started } = await this.deps.downloads.start(ref.id);
    const message = started ? 'Download started in background' : 'Download already in progress';
    return { model_id: ref.id, status: 'downloading', message };
  }

  /** Loads a registered model now (MODEL_NOT_FOUND for an unknown one). */
  async load(ref: ModelRef): Promise<ModelStatus> {
    await this.deps.registry.get(ref.id);
    return this.deps.engine.load(ref.id);
  }

  /**
   * Unloads now if idle, else once in-flight requests finish: the status answered is then still
   * `loaded`. MODEL_NOT_LOADED if it was not loaded.
   */
  async unload(ref: ModelRef): Promise<ModelStatus | UnloadedStatus> {
    const id = ref.id;
    await this.deps.registry.get(id);
    await this.deps.engine.unload(id);
    const still = this.deps.engine.models().find((m) => m.model_id === id);
    return still ?? { model_id: id, state: 'unloaded', memory_usage_mb: 0 };
  }

  /** Every registered model pinned to a commit (the modelmora.lock content). */
  lock(): Promise<ApiLockFile> {
    return this.deps.lockFile();
  }
}

/** A model the engine no longer holds: no device, no health to report. */
export interface UnloadedStatus {
  model_id: string;
  state: 'unloaded';
  memory_usage_mb: 0;
}
