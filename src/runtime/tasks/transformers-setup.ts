import { env, LogLevel } from '@huggingface/transformers';

/**
 * What every transformers.js task handler does before loading: stay offline, check the folder,
 * pick the weights variant and the thread count. Shared so the handlers cannot drift apart.
 * The folder helpers live in model-folder.ts (no transformers.js import) and are re-exported.
 */

export { checkModelFolder, configBoolean, DTYPES, pickDtype, readModelConfig, type Dtype } from './model-folder.js';
export { sessionOptions } from '../session-options.js';

/** Never reach the network from a runner: every file is already in the cache, verified. */
export function configureOffline(): void {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  env.useBrowserCache = false;
  env.logLevel = LogLevel.ERROR;
}
