import { resolveSettings } from '../config/config.js';
import { runningDaemon, type DaemonRecord } from '../config/daemon-record.js';

/** Where the client finds the daemon when it is not told: the settings, then <home>/daemon.pid. */

export const DEFAULT_URL = 'http://127.0.0.1:8000';

export interface ClientSettings {
  /** Explicit base URL; wins over everything. */
  baseUrl?: string;
  /** Home whose daemon.pid names the local daemon; default MODELMORA_HOME or ~/.modelmora. */
  home?: string;
  token?: string;
  env?: NodeJS.ProcessEnv;
}

export function resolveClientSettings(options: ClientSettings): { baseUrl: string; token: string | undefined; home: string } {
  const settings = resolveSettings(['home', 'url', 'token'], {
    flags: { ...(options.home !== undefined && { home: options.home }) },
    ...(options.env !== undefined && { env: options.env }),
  });
  const token = options.token ?? settings.token ?? undefined;
  const explicit = options.baseUrl ?? settings.url ?? undefined;
  if (explicit !== undefined) return { baseUrl: normalizeBaseUrl(explicit), token, home: settings.home };
  const record = runningDaemon(settings.home);
  return { baseUrl: record ? recordUrl(record) : DEFAULT_URL, token, home: settings.home };
}

/** The URL to reach a recorded daemon; a wildcard bind is reached on loopback. */
export function recordUrl(record: Pick<DaemonRecord, 'host' | 'port' | 'tls'>): string {
  let host = record.host;
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `${record.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${record.port}`;
}

/** `http://h:8000/`, `http://h:8000/api/v1` -> `http://h:8000`; the client adds /api/v1 itself. */
export function normalizeBaseUrl(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
}
