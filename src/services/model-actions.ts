import { ModelMoraError } from '../domain/errors.js';
import type { Engine, ModelStatus } from '../domain/engine.js';
import { ModelRef } from '../domain/model-ref.js';
import { checkUrl } from '../hub/url-guard.js';
import type { BackgroundDownloads } from './download-service.js';
import type { ModelRecord, RegisterInput, Registry } from '../store/registry.js';

/**
 * What REST and gRPC do to one model beyond a plain registry read: register, delete (with
 * force), start a download, load and unload. Both skins call these, so a rule such as "a loaded
 * model needs force to be deleted" lives in one place. Nothing here knows HTTP or gRPC.
 */

export interface ModelActionDeps {
  registry: Registry;
  engine: Engine;
  downloads: BackgroundDownloads;
  /** Deletes a model's cached files; absent: files are left in the cache. */
  removeFiles?: ((modelId: string) => Promise<void>) | undefined;
}

/**
 * Registers a model; the id is parsed, and source_url gets the SSRF guard's checks that need no
 * DNS (https only, no credentials, no local host name, no loopback, private, link-local or
 * metadata IP literal, decimal and hex forms included) so such a URL is refused where it enters.
 * Host names are resolved and checked again (and on every redirect) when the download runs.
 */
export async function registerModel(registry: Registry, input: RegisterInput): Promise<ModelRecord> {
  const id = ModelRef.parse(input.model_id).id;
  if (input.source_url !== undefined) {
    try {
      checkUrl(input.source_url);
    } catch (err) {
      if (!(err instanceof ModelMoraError)) throw err;
      throw new ModelMoraError(err.code, err.message, { fieldErrors: [{ field: 'source_url', message: err.message.replace(/^source_url not allowed: /, '') }] });
    }
  }
  return registry.register({ ...input, model_id: id });
}

/**
 * Removes a model from the registry and its files from the cache. A loaded or downloading model
 * is MODEL_IN_USE unless `force`, which cancels the download and unloads it first.
 */
export async function deleteModel(deps: ModelActionDeps, id: string, force: boolean): Promise<void> {
  const { registry, engine, downloads } = deps;
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
  if (deps.removeFiles) await deps.removeFiles(id);
  await registry.remove(id);
}

/** Starts fetching the files in the background and answers at once (the document's DownloadResponse). */
export async function startDownload(
  downloads: BackgroundDownloads,
  id: string,
): Promise<{ model_id: string; status: 'downloading'; message: string }> {
  const { started } = await downloads.start(id);
  const message = started ? 'Download started in background' : 'Download already in progress';
  return { model_id: id, status: 'downloading', message };
}

/** Loads a registered model now (MODEL_NOT_FOUND for an unknown one). */
export async function loadModel(deps: Pick<ModelActionDeps, 'registry' | 'engine'>, id: string): Promise<ModelStatus> {
  await deps.registry.get(id);
  return deps.engine.load(id);
}

/**
 * Unloads now if idle, else once in-flight requests finish: the status answered is then still
 * `loaded`. MODEL_NOT_LOADED if it was not loaded.
 */
export async function unloadModel(deps: Pick<ModelActionDeps, 'registry' | 'engine'>, id: string): Promise<ModelStatus | UnloadedStatus> {
  await deps.registry.get(id);
  await deps.engine.unload(id);
  const still = deps.engine.models().find((m) => m.model_id === id);
  return still ?? { model_id: id, state: 'unloaded', memory_usage_mb: 0 };
}

/** A model the engine no longer holds: no device, no health to report. */
export interface UnloadedStatus {
  model_id: string;
  state: 'unloaded';
  memory_usage_mb: 0;
}
