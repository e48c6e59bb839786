import type { ModelRef } from '../domain/model-ref.js';
import { createHubSource } from './hub-source.js';
import { createLocalSource } from './local-source.js';
import { createUrlSource } from './url-source.js';
import type { UrlGuardOptions } from './url-guard.js';

/**
 * Where a model's files come from. Three kinds share one contract so the lock, `pull` and the
 * store never care which: the Hugging Face Hub (or a mirror), a local folder (air-gapped), or
 * a single https file. Everything a source returns has been checked (paths, hashes, commit)
 * before the caller sees it.
 */

/** One file of a snapshot. `path` is POSIX, relative, and has passed checkRepoPath. */
export interface SourceFile {
  path: string;
  size: number;
  /** 64 lowercase hex digits. */
  sha256: string;
}

/** A resolved revision: the exact commit and its files, sorted by path. */
export interface Snapshot {
  /** 40 lowercase hex digits (a git commit for the Hub; a content hash for local and url sources). */
  commit: string;
  files: SourceFile[];
}

/** A byte stream of one file starting at `offset`. */
export interface OpenedFile {
  body: AsyncIterable<Uint8Array>;
  /** The offset the source actually honoured: 0 when the server ignored Range. */
  offset: number;
}

export interface ModelSource {
  readonly kind: 'hub' | 'local' | 'url';
  /** What the lock stores as source_url: hub `${hubUrl}/${id}`, local the path as written, url the url. */
  readonly location: string;
  /** revision -> commit and its files (size and sha256), filtered by glob patterns when given. */
  resolve(revision: string, patterns?: readonly string[]): Promise<Snapshot>;
  /** Streams one file of `commit` from `offset` (HTTP Range for remote sources). */
  open(commit: string, file: SourceFile, offset: number, signal?: AbortSignal): Promise<OpenedFile>;
}

export interface SourceSpec {
  /** yaml `source:`: a local folder, relative to baseDir or absolute. An `https://` value is treated as sourceUrl. */
  source?: string;
  /** yaml `source_url:`: an https URL of a single file (SSRF-guarded). */
  sourceUrl?: string;
  /** config hub_url (HF_ENDPOINT); trusted, so the loopback test hub works. */
  hubUrl: string;
  /** config hf_token; sent to hubUrl only, never to a source_url. */
  token?: string | null;
  /** Folder relative local sources are resolved against (the yaml's folder). */
  baseDir: string;
  /** Hub requests only (tests and proxies). */
  fetch?: typeof fetch;
  /**
   * Where resolve() keeps bytes it had to download just to hash them (small non-LFS hub files,
   * url files), so a pull does not fetch them twice, even in a later process (`lock`, then
   * `pull`). Pass ModelStore.spoolDir. Without it, files up to 16 MiB are kept in memory only.
   */
  spoolDir?: string;
  /** url sources only: DNS resolver and fetch injection for tests. */
  urlGuard?: UrlGuardOptions;
}

/** Picks the source kind from the model's yaml entry: source_url > source (folder) > hub. */
export function createSource(ref: ModelRef, spec: SourceSpec): ModelSource {
  const url = spec.sourceUrl ?? (spec.source !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(spec.source) ? spec.source : undefined);
  if (url !== undefined) return createUrlSource(url, spec);
  if (spec.source !== undefined) return createLocalSource(spec.source, spec.baseDir);
  return createHubSource(ref, spec);
}
