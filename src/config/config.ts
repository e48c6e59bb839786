import { ModelMoraError } from '../domain/errors.js';
import { parseDuration } from './duration.js';
import { SETTINGS, type Setting, type SettingKey } from './settings.js';

/** What a setting of each declared type resolves to. */
interface ValueOfType {
  string: string;
  int: number;
  number: number;
  boolean: boolean;
  duration: number;
  list: string[];
}

/** A setting without a default (`default: null`) may stay unset. */
type ValueOf<S extends Setting> = ValueOfType[S['type']] | (S['default'] extends null ? null : never);

/**
 * Resolved settings, derived from the SETTINGS table so each setting is declared once;
 * durations are in milliseconds (-1 = forever). Frozen once resolved.
 */
export type Config = { [S in (typeof SETTINGS)[number] as S['key']]: ValueOf<S> };

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
  return Object.freeze(out as Pick<Config, K>);
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
      if (!Number.isFinite(n)) throw fail('expected a number');
      if (setting.type === 'int' && !Number.isInteger(n)) throw fail('expected a whole number');
      const min = setting.min ?? 0;
      if (n < min) throw fail(`${n} is below the minimum ${min}`);
      if (setting.max !== undefined && n > setting.max) throw fail(`${n} is above the maximum ${setting.max}`);
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
