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
const LOADERS: Partial<Record<TaskType, (spec: LoadSpec) => Promise<TaskLoader>>> = {
  txt2embed: async () => (await import('./txt2embed.js')).loadTxt2Embed,
  img2embed: async () => (await import('./img2embed.js')).loadImg2Embed,
  img2txt: async (spec) => familyLoader('img2txt', IMG2TXT_FAMILIES, spec),
  txt2txt: async () => (await import('./txt2txt.js')).loadTxt2Txt,
  txt2img: async () => (await import('./txt2img.js')).loadTxt2Img,
};

/**
 * img2txt has several model families; the model's `config.family` picks one (default: `ocr`
 * for a PaddleOCR folder, else `captioning`). A family plugs in with one line here.
 */
const IMG2TXT_FAMILIES: Record<string, () => Promise<TaskLoader>> = {
  captioning: async () => (await import('./img2txt-caption.js')).loadImageCaptioner,
  ocr: async () => (await import('./img2txt-ocr.js')).loadImg2TxtOcr,
};

async function familyLoader(task: TaskType, families: Record<string, () => Promise<TaskLoader>>, spec: LoadSpec): Promise<TaskLoader> {
  const family = spec.config.family ?? ((await import('../ocr/layout.js')).isOcrModel(spec) ? 'ocr' : 'captioning');
  const load = typeof family === 'string' && Object.hasOwn(families, family) ? families[family] : undefined;
  if (!load) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', `config.family '${String(family)}' is not a ${task} family (known: ${Object.keys(families).join(', ')})`);
  }
  return load();
}

export async function loadTaskHandler(spec: LoadSpec): Promise<TaskHandler> {
  const importLoader = LOADERS[spec.taskType];
  if (!importLoader) {
    throw new ModelMoraError('MODEL_LOAD_FAILED', `Task type '${String(spec.taskType)}' is not supported by this runner`);
  }
  const load = await importLoader(spec);
  return load(spec);
}

/**
 * Imports ahead of a `load` what the commonest task (txt2embed) needs: onnxruntime-node, the
 * tokenizer library and the handler, then, if `stillIdle()`, pays onnxruntime's first-session
 * set-up. A spare runner does this while it waits, so a later load only pays for its own session;
 * a load that arrived meanwhile does that set-up in its own session instead, not twice.
 * transformers.js is left out on purpose: it costs a runner about 24 MB for as long as it lives,
 * and only the other task types use it (they import it at load). Failures are for the load to
 * report; callers ignore them.
 */
export async function warmUpRuntime(stillIdle: () => boolean = () => true): Promise<void> {
  await import('./txt2embed.js');
  if (stillIdle()) await (await import('./warm-session.js')).warmOnnxRuntime();
}
