import { ModelMoraError } from '../../domain/errors.js';
import { TASK_TYPES, type Priority, type TaskType } from '../../domain/task-type.js';

/**
 * The well-known protobuf types and enums as @grpc/proto-loader hands them to us (keepCase,
 * enums as String, longs as Number): google.protobuf.Struct / Value / Timestamp, and the
 * modelmora.v1 enums <-> the domain's strings.
 */

/** google.protobuf.Value; protobufjs keeps the camelCase names of its built-in types. */
export interface ProtoValue {
  kind?: string;
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct | null;
  listValue?: { values?: ProtoValue[] } | null;
}

export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}

export interface ProtoTimestamp {
  seconds: number;
  nanos: number;
}

/** Deeper than any honest config or parameters (the max_json_depth default); stops a hostile message from blowing the stack. */
const MAX_DEPTH = 32;

/**
 * Struct -> plain JSON object; an absent Struct is undefined. Nesting beyond `maxDepth` (the
 * max_json_depth setting, as for REST bodies) and `__proto__` / `constructor.prototype` keys
 * are VALIDATION_ERRORs naming the field, as REST answers them.
 */
export function fromStruct(struct: ProtoStruct | null | undefined, field: string, maxDepth = MAX_DEPTH): Record<string, unknown> | undefined {
  if (!struct) return undefined;
  return structObject(struct, field, 0, maxDepth);
}

function structObject(struct: ProtoStruct, field: string, depth: number, maxDepth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct.fields ?? {})) {
    const poisoned = key === '__proto__' || (key === 'constructor' && value.kind === 'structValue' && Object.hasOwn(value.structValue?.fields ?? {}, 'prototype'));
    if (poisoned) {
      throw new ModelMoraError('VALIDATION_ERROR', `${field} contains the forbidden key ${key}`, {
        fieldErrors: [{ field: `${field}.${key}`, message: 'is a forbidden key (prototype pollution)' }],
      });
    }
    // defineProperty: even so, no key can reach a prototype.
    Object.defineProperty(out, key, { value: fromValue(value, field, depth + 1, maxDepth), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function fromValue(value: ProtoValue, field: string, depth: number, maxDepth: number): unknown {
  if (depth > maxDepth) {
    throw new ModelMoraError('VALIDATION_ERROR', 'Request validation failed', {
      fieldErrors: [{ field, message: `is nested deeper than ${maxDepth} levels` }],
    });
  }
  switch (value.kind) {
    case 'numberValue':
      return value.numberValue;
    case 'stringValue':
      return value.stringValue;
    case 'boolValue':
      return value.boolValue;
    case 'structValue':
      return structObject(value.structValue ?? {}, field, depth, maxDepth);
    case 'listValue':
      return (value.listValue?.values ?? []).map((v) => fromValue(v, field, depth + 1, maxDepth));
    default:
      return null;
  }
}

/** Plain JSON object -> Struct (undefined values are left out, as JSON does). */
export function toStruct(object: Record<string, unknown>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined) fields[key] = toValue(value);
  }
  return { fields };
}

function toValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
  if (typeof value === 'object') return { structValue: toStruct(value as Record<string, unknown>) };
  return { stringValue: String(value) };
}

/** ISO string or Date -> Timestamp; absent stays absent (null on the wire). */
export function toTimestamp(at: string | Date | undefined): ProtoTimestamp | null {
  if (at === undefined) return null;
  const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (!Number.isFinite(ms)) return null;
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** proto enum TaskType name (TASK_TYPE_TXT2EMBED) <-> 'txt2embed'. */
export function taskTypeName(task: TaskType): string {
  return `TASK_TYPE_${task.toUpperCase()}`;
}

/** UNSPECIFIED and unknown values are undefined. */
export function taskTypeOf(name: unknown): TaskType | undefined {
  if (typeof name !== 'string' || !name.startsWith('TASK_TYPE_')) return undefined;
  const task = name.slice('TASK_TYPE_'.length).toLowerCase();
  return (TASK_TYPES as readonly string[]).includes(task) ? (task as TaskType) : undefined;
}

/**
 * proto Priority -> the body's priority: UNSPECIFIED means "the default" (undefined); an unknown
 * number is passed on as is so the shared validator rejects it with its usual field error.
 */
export function priorityOf(name: unknown): Priority | number | undefined {
  switch (name) {
    case 'PRIORITY_LOW':
      return 'low';
    case 'PRIORITY_MEDIUM':
      return 'medium';
    case 'PRIORITY_HIGH':
      return 'high';
    case 'PRIORITY_UNSPECIFIED':
    case undefined:
    case null:
      return undefined;
    default:
      return typeof name === 'number' ? name : -1;
  }
}

/** 'processing' -> JOB_STATUS_PROCESSING; 'loaded' -> MODEL_STATE_LOADED. */
export function enumName(prefix: 'JOB_STATUS' | 'MODEL_STATE', value: string): string {
  return `${prefix}_${value.toUpperCase()}`;
}
