import { ModelMoraError } from '../../domain/errors.js';
import type { ItemOutput } from '../../domain/inference.js';
import type { LoadSpec, RunnerBatch, RunnerProgress } from '../../domain/runner.js';
import type { TaskType } from '../../domain/task-type.js';

/** What a handler may use while it runs one batch. */
export interface TaskContext {
  /** Aborted when the parent cancels this run; handlers of short tasks may ignore it. */
  signal: AbortSignal;
  /**
   * Reports progress of one item (`event.item` indexes batch.items): a token just produced,
   * a step done, or 0..100. The daemon routes it to the request that owns the item.
   */
  progress(event: RunnerProgress): void;
}

/** A loaded model inside the runner process. Outputs are one per input item, in input order. */
export interface TaskHandler {
  run(batch: RunnerBatch, context: TaskContext): Promise<ItemOutput[]>;
  dispose(): Promise<void>;
}

export type TaskLoader = (spec: LoadSpec) => Promise<TaskHandler>;

/**
 * Task type -> handler module. Imported lazily so a runner only pulls in the code (and native
 * modules) of its own task. A later task type plugs in with one line here.
 */
const LOADERS: Partial<Record<TaskType, () => Promise<TaskLoader>>> = {
  txt2embed: async () => (await import('./txt2embed.js')).loadTxt2Embed,
  txt2img: async () => (await import('./txt2img.js')).loadTxt2Img,
};

export function supportedTaskTypes(): TaskType[] {
  return Object.keys(LOADERS) as TaskType[];
}

export async function loadTaskHandler(spec: LoadSpec): Promise<TaskHandler> {
  const importLoader = LOADERS[spec.taskType];
  if (!importLoader) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', `Task type '${String(spec.taskType)}' is not supported by this runner`);
  }
  const load = await importLoader();
  return load(spec);
}
