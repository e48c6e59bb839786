import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { validationError, type FieldError } from '../../domain/errors.js';
import { ModelRef } from '../../domain/model-ref.js';
import { MODEL_STATES, toModelResponse, type ListQuery, type ModelState, type RegisterInput, type ResourceRequirements, type UpdateInput } from '../../store/registry.js';
import { MODEL_FIELD_LIMITS } from '../rest/schemas.js';
import { unary, type UnaryOptions } from './call.js';
import { toModelMessage } from './messages.js';
import type { GrpcDeps } from './server.js';
import { fromStruct, taskTypeName, taskTypeOf, toTimestamp, type ProtoStruct } from './wire.js';

/**
 * modelmora.v1.RegistryService over the same registry and model actions REST uses. proto3 has
 * no "unset" for strings and numbers: an empty string or a 0 means "not given" (version main,
 * no display name, keep the current value on update, default page).
 */

interface ResourcesMessage {
  memory_mb: number;
  gpu_vram_mb: number;
  cpu_threads: number;
}

interface RegisterMessage {
  model_id: string;
  version: string;
  task_type: string | number;
  display_name: string;
  description: string;
  source_url: string;
  resource_requirements: ResourcesMessage | null;
  config: ProtoStruct | null;
}

interface UpdateMessage {
  model_id: string;
  display_name: string;
  description: string;
  config: ProtoStruct | null;
  resource_requirements: ResourcesMessage | null;
}

interface ListMessage {
  task_type: string | number;
  status: string;
  pagination: { page: number; page_size: number } | null;
}

/** The limits the REST schemas declare, so both skins refuse the same lengths. */
const LIMITS: Record<'version' | 'display_name' | 'description' | 'source_url', number> = MODEL_FIELD_LIMITS;
const MAX_PAGE_SIZE = 100;

export function registryService(deps: GrpcDeps, options: UnaryOptions): UntypedServiceImplementation {
  const { models } = deps.services;
  return {
    RegisterModel: unary(options, async (request: RegisterMessage) => {
      const errors: FieldError[] = [];
      const task = taskTypeOf(request.task_type);
      if (!task) errors.push({ field: 'task_type', message: 'is required (one of TASK_TYPE_TXT2EMBED ... TASK_TYPE_TXT2TXT)' });
      const input: Omit<RegisterInput, 'model_id'> = { task_type: task ?? 'txt2embed' };
      readModelFields(request, ['version', 'display_name', 'description', 'source_url'], input, errors, deps.config.max_json_depth);
      if (errors.length > 0) throw validationError(errors);
      return toModelMessage(toModelResponse(await models.register(ModelRef.parse(request.model_id), input)));
    }),

    ListModels: unary(options, async (request: ListMessage) => {
      const errors: FieldError[] = [];
      const query: ListQuery = {};
      const task = taskTypeOf(request.task_type);
      if (task) query.task_type = task;
      else if (request.task_type !== 'TASK_TYPE_UNSPECIFIED') errors.push({ field: 'task_type', message: 'is not a known task type' });
      if (request.status !== '') {
        if ((MODEL_STATES as readonly string[]).includes(request.status)) query.status = request.status as ModelState;
        else errors.push({ field: 'status', message: `must be one of ${MODEL_STATES.join(', ')}` });
      }
      const { page = 0, page_size = 0 } = request.pagination ?? {};
      if (page < 0) errors.push({ field: 'pagination.page', message: 'must be >= 1' });
      else if (page > 0) query.page = page;
      if (page_size < 0 || page_size > MAX_PAGE_SIZE) errors.push({ field: 'pagination.page_size', message: `must be from 1 to ${MAX_PAGE_SIZE}` });
      else if (page_size > 0) query.page_size = page_size;
      if (errors.length > 0) throw validationError(errors);
      const result = await models.list(query);
      return { models: result.data.map((m) => toModelMessage(toModelResponse(m))), pagination: result.meta };
    }),

    GetModel: unary(options, async (request: { model_id: string }) => toModelMessage(toModelResponse(await models.get(ModelRef.parse(request.model_id))))),

    UpdateModel: unary(options, async (request: UpdateMessage) => {
      const ref = ModelRef.parse(request.model_id);
      const errors: FieldError[] = [];
      const changes: UpdateInput = {};
      readModelFields(request, ['display_name', 'description'], changes, errors, deps.config.max_json_depth);
      if (errors.length > 0) throw validationError(errors);
      return toModelMessage(toModelResponse(await models.update(ref, changes)));
    }),

    DeleteModel: unary(options, async (request: { model_id: string; force: boolean }) => {
      const ref = ModelRef.parse(request.model_id);
      await models.remove(ref, request.force);
      return { model_id: ref.id, deleted: true };
    }),

    DownloadModel: unary(options, async (request: { model_id: string }) => {
      return models.download(ModelRef.parse(request.model_id));
    }),

    GenerateLock: unary(options, async () => {
      const lock = await models.lock();
      return {
        version: lock.version,
        generated_at: toTimestamp(lock.generated_at),
        models: lock.models.map((m) => ({
          model_id: m.model_id,
          version: m.version,
          source_url: m.source_url ?? '',
          checksum: m.checksum,
          task_type: taskTypeName(m.task_type),
        })),
        unresolved: lock.unresolved,
      };
    }),
  };
}

/** Zeros are "not given" (proto3); negative numbers are refused, as REST's minimum: 0 does. */
/**
 * The fields RegisterModel and UpdateModel share: strings within their limits ('' means unset
 * in proto3), resource requirements and the config Struct, copied into `target`.
 */
function readModelFields(
  request: Partial<Record<keyof typeof LIMITS, string>> & { resource_requirements: ResourcesMessage | null; config: ProtoStruct | null },
  keys: readonly (keyof typeof LIMITS)[],
  target: { [K in keyof typeof LIMITS]?: string } & Pick<UpdateInput, 'resource_requirements' | 'config'>,
  errors: FieldError[],
  maxDepth: number,
): void {
  for (const key of keys) {
    const value = request[key] ?? '';
    if (value === '') continue;
    if (value.length > LIMITS[key]) errors.push({ field: key, message: `must be at most ${LIMITS[key]} characters` });
    else target[key] = value;
  }
  const resources = resourcesOf(request.resource_requirements, errors);
  if (resources) target.resource_requirements = resources;
  const config = fromStruct(request.config, 'config', maxDepth);
  if (config) target.config = config;
}

function resourcesOf(message: ResourcesMessage | null, errors: FieldError[]): ResourceRequirements | undefined {
  if (!message) return undefined;
  const out: ResourceRequirements = {};
  for (const key of ['memory_mb', 'gpu_vram_mb', 'cpu_threads'] as const) {
    const value = message[key];
    if (value < 0) errors.push({ field: `resource_requirements.${key}`, message: 'must be >= 0' });
    else if (value > 0) out[key] = value;
  }
  return out;
}
