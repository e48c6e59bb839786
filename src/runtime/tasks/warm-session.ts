import { InferenceSession } from 'onnxruntime-node';

/**
 * The smallest useful ONNX model: y = Identity(x), x and y float[1], IR 8, opset 17. Written with
 * scripts/onnx encodeOnnxModel({ irVersion: 8, opsetVersion: 17, producerName: 'modelmora',
 * producerVersion: '1', graph: { name: 'warm', nodes: [Identity x -> y], ... } }).
 */
const IDENTITY_MODEL = 'CAgSCW1vZGVsbW9yYRoBMTo+ChQKAXgSAXkaAmlkIghJZGVudGl0eRIEd2FybVoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEBE=';

/**
 * Creates and releases one tiny session. The first session of a process pays onnxruntime's
 * one-time set-up (kernel registries, optimizer tables): ~25 ms of the ~35 ms the demo model's
 * session took in a fresh runner, ~10 ms after this. A spare runner does it while it waits.
 */
export async function warmOnnxRuntime(): Promise<void> {
  const session = await InferenceSession.create(Buffer.from(IDENTITY_MODEL, 'base64'), { logSeverityLevel: 3 });
  await session.release();
}
