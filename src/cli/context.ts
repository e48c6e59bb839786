import path from 'node:path';
import { resolveConfig, type Config } from '../config/config.js';
import { openProject, type Project } from '../project/project.js';
import { sourceFactory, type SyncDeps } from '../project/sync.js';
import { ModelStore } from '../store/model-store.js';
import type { GlobalOptions } from './global-options.js';
import { Output } from './render/output.js';

/**
 * What a package-manager command works with: the project files, the resolved settings, the
 * cache and a way to build each model's source. Loaded lazily by the command actions so that
 * `modelmora --help` never pays for yaml, the hub client or the store.
 */
export interface CliContext {
  output: Output;
  project: Project;
  config: Readonly<Config>;
  store: ModelStore;
  deps: SyncDeps;
}

export function outputFor(options: GlobalOptions): Output {
  return new Output({ quiet: options.quiet === true, json: options.json === true });
}

export function manifestPath(options: GlobalOptions): string {
  return path.resolve(options.config ?? 'modelmora.yaml');
}

/** Flags map to settings keys here, and only here; env and yaml are read by resolveConfig. */
export function configFlags(options: GlobalOptions): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  if (options.home !== undefined) flags.home = path.resolve(options.home);
  if (options.hubUrl !== undefined) flags.hub_url = options.hubUrl;
  return flags;
}

export async function openContext(options: GlobalOptions, signal?: AbortSignal): Promise<CliContext> {
  const project = await openProject(manifestPath(options));
  const config = resolveConfig({ flags: configFlags(options), yaml: project.manifest.server });
  const store = new ModelStore(config.home);
  const deps: SyncDeps = {
    store,
    sourceFor: sourceFactory(config, project.dir, store.spoolDir),
  };
  if (signal) deps.signal = signal;
  return { output: outputFor(options), project, config, store, deps };
}
