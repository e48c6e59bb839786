import { ModelMoraError } from '../domain/errors.js';
import { parseDuration } from './duration.js';
import { SETTINGS, type Setting, type SettingKey } from './settings.js';

/** Resolved settings; durations are in milliseconds (-1 = forever). Frozen once resolved. */
export interface Config {
  home: string;
  host: string;
  port: number;
  grpc_port: number;
  grpc: boolean;
  hub_url: string;
  hf_token: string | null;
  memory_budget_mb: number;
  keep_alive: number;
  max_queue_size: number;
  max_batch_size: number;
  max_delay_ms: number;
  priority_aging_ms: number;
  default_timeout_seconds: number;
  drain_timeout_seconds: number;
  runner_threads: number;
  runner_spin_mb: number;
  warm_runner: boolean;
  job_retention: number;
  inline_image_max_kb: number;
  job_concurrency: number;
  grpc_max_message_mb: number;
  grpc_image_max_message_mb: number;
  body_limit_mb: number;
  image_body_limit_mb: number;
  max_inputs: number;
  max_text_chars: number;
  max_json_depth: number;
  max_in_flight: number;
  idle_memory_release_ms: number;
  max_image_pixels: number;
  log_level: string;
  tokens: string[];
  tokens_file: string | null;
  jwt_secret: string | null;
  jwt_public_key: string | null;
  jwt_issuer: string | null;
  jwt_audience: string | null;
  metrics_auth: boolean;
  allowed_hosts: string[];
  cors_origins: string[];
  tls_cert: string | null;
  tls_key: string | null;
  url: string | null;
  token: string | null;
}

type Layer = Partial<Record<string, unknown>>;

export interface ConfigSources {
  /** Command-line flags, keyed by setting key (commander's camelCase is mapped by the caller). */
  flags?: Layer;
  env?: NodeJS.ProcessEnv;
  /** The `server:` section of modelmora.yaml. */
  yaml?: Layer;
}

/** flags > env > yaml > defaults, each value checked against its declared type. */
export function resolveConfig(sources: ConfigSources = {}): Readonly<Config> {
  return resolveSettings(SETTINGS.map((s) => s.key), sources) as Readonly<Config>;
}

/**
 * Only the named settings, so a client (which needs home, url and token) is not failed by a bad
 * value of a daemon setting it never uses.
 */
export function resolveSettings<K extends SettingKey>(keys: readonly K[], sources: ConfigSources = {}): Readonly<Pick<Config, K>> {
  const env = sources.env ?? process.env;
  const yaml = sources.yaml ?? {};
  for (const key of Object.keys(yaml)) {
    if (!SETTINGS.some((s) => s.key === key)) {
      throw new ModelMoraError('VALIDATION_ERROR', `modelmora.yaml: server.${key} is not a known setting`, {
        fieldErrors: [{ field: `server.${key}`, message: 'unknown setting' }],
      });
    }
  }
  const out: Record<string, unknown> = {};
  for (const setting of SETTINGS as readonly Setting[]) {
    if (!(keys as readonly string[]).includes(setting.key)) continue;
    const flag = sources.flags?.[setting.key];
    const envName = setting.env.find((name) => env[name] !== undefined && env[name] !== '');
    let raw: unknown = setting.default;
    let origin = 'default';
    if (flag !== undefined) [raw, origin] = [flag, `flag ${setting.key}`];
    else if (envName) [raw, origin] = [env[envName], `env ${envName}`];
    else if (yaml[setting.key] !== undefined) [raw, origin] = [yaml[setting.key], `server.${setting.key}`];
    out[setting.key] = raw === null ? null : coerce(setting, raw, origin);
  }
  return Object.freeze(out as unknown as Pick<Config, K>);
}

function coerce(setting: Setting, raw: unknown, origin: string): unknown {
  const fail = (why: string) =>
    new ModelMoraError('VALIDATION_ERROR', `Setting ${setting.key} (from ${origin}): ${why}`, {
      fieldErrors: [{ field: setting.key, message: why }],
    });
  switch (setting.type) {
    case 'string':
      if (typeof raw !== 'string' && typeof raw !== 'number') throw fail('expected a string');
      return String(raw);
    case 'int':
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n) || n < 0) throw fail('expected a non-negative number');
      if (setting.type === 'int' && !Number.isInteger(n)) throw fail('expected a whole number');
      return n;
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw fail('expected true or false');
    case 'duration':
      try {
        return parseDuration(raw);
      } catch (err) {
        throw fail((err as Error).message);
      }
    case 'list':
      if (Array.isArray(raw)) return raw.map(String);
      if (typeof raw === 'string') return raw.split(',').map((s) => s.trim()).filter(Boolean);
      throw fail('expected a comma-separated list');
  }
}

/** The config as one loggable object, secrets masked. */
export function describeConfig(config: Readonly<Config>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const setting of SETTINGS as readonly Setting[]) {
    const value = config[setting.key as SettingKey];
    const empty = value === null || value === '' || (Array.isArray(value) && value.length === 0);
    out[setting.key] = setting.secret && !empty ? '***' : value;
  }
  return out;
}
