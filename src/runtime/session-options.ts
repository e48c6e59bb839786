import type { InferenceSession } from 'onnxruntime-node';
import type { LoadSpec } from '../domain/runner.js';

/**
 * onnxruntime session options every handler uses, from the load spec: the intra-op thread count
 * and whether idle worker threads spin. The daemon turns spinning on for heavy models only
 * (setting runner_spin_mb): spinning helps a model whose batches keep the threads busy, while a
 * light model's spinning threads take CPU the daemon and the clients need between its tiny
 * batches (bench/FINDINGS.md).
 */
export function sessionOptions(spec: Pick<LoadSpec, 'threads' | 'spin'>): InferenceSession.SessionOptions {
  const options: InferenceSession.SessionOptions = {};
  if (spec.threads !== undefined && spec.threads > 0) options.intraOpNumThreads = spec.threads;
  if (!spec.spin) options.extra = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };
  return options;
}
