import type { InferenceSession } from 'onnxruntime-node';
import type { LoadSpec } from '../domain/runner.js';

/**
 * onnxruntime session options every handler uses, from the load spec: the intra-op thread count
 * and whether idle worker threads spin. Spinning is off by default because a runner shares the
 * cores with the daemon and the clients: measured on the MiniLM-cost model, batch 32, with a busy
 * process on the other core, spinning took 138 ms and 154 ms CPU a batch, not spinning 71 ms and
 * 101 ms (on an idle machine spinning wins slightly: 48 ms against 53 ms).
 */
export function sessionOptions(spec: Pick<LoadSpec, 'threads' | 'spin'>): InferenceSession.SessionOptions {
  const options: InferenceSession.SessionOptions = {};
  if (spec.threads !== undefined && spec.threads > 0) options.intraOpNumThreads = spec.threads;
  if (!spec.spin) options.extra = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };
  return options;
}
