import type { InferenceSession } from 'onnxruntime-node';
import type { LoadSpec } from '../domain/runner.js';

/**
 * onnxruntime session options every handler uses, from the load spec: the intra-op thread count
 * and whether idle worker threads spin. The daemon turns spinning on for heavy models only
 * (setting runner_spin_mb). Measured with the daemon and 64 REST clients on the same 2 cores,
 * 3 alternating runs each: MiniLM-cost (86 MB) 445-446 sentences/s spinning against 335-446
 * not; the GloVe demo (5 MB) 5,600-6,800 req/s spinning against 6,200-8,500 not, as its spinning
 * threads took CPU the daemon and the clients needed between its tiny batches.
 */
export function sessionOptions(spec: Pick<LoadSpec, 'threads' | 'spin'>): InferenceSession.SessionOptions {
  const options: InferenceSession.SessionOptions = {};
  if (spec.threads !== undefined && spec.threads > 0) options.intraOpNumThreads = spec.threads;
  if (!spec.spin) options.extra = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };
  return options;
}
