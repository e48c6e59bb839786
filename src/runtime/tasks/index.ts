import { ModelMoraError } from '../../domain/errors.js';
import type { ItemOutput } from '../../domain/inference.js';
import type { LoadSpec, RunnerBatch } from '../../domain/runner.js';
import type { TaskType } from '../../domain/task-type.js';

/** What a handler may use while it runs one batch. */
export interface TaskContext {
  /** Aborted when the parent cancels this run; handlers of short tasks may ignore it. */
  signal: AbortSignal;
  /** For long tasks: 0..100 and an optional stage name. */
  progress(progress: number, stage?: string): void;
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
  img2txt: async () => loadImg2Txt,
};

/**
 * img2txt has two families. OCR (a PaddleOCR folder, or `config.family: ocr`) is this branch;
 * anything else is image captioning, which has no handler yet.
 */
async function loadImg2Txt(spec: LoadSpec): Promise<TaskHandler> {
  if ((await import('../ocr/layout.js')).isOcrModel(spec)) return (await import('./img2txt-ocr.js')).loadImg2TxtOcr(spec);
  throw new ModelMoraError('MODEL_LOAD_FAILED', `Model '${spec.modelId}' is not an OCR model folder, and image captioning is not supported yet`);
}

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
