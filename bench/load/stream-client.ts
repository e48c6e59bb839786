/**
 * Row 5's clients in their own process, both sides alike: the product's InferStream client (A)
 * and the bare echo client (B). In the harness process, which has run rows 1-4 by then, every
 * promoted 3 MiB buffer made V8 collect a much larger old generation: A's client spent 42 ms of
 * CPU per answer there against 16 ms in a fresh process.
 *
 *   child of bench/run.ts; commands
 *   { cmd: 'inferStream', port, modelId, texts, window, seconds, maxMessageBytes }
 *   { cmd: 'echo', port, bytes, window, seconds }
 */
import { serveParent } from '../harness/child.js';
import { createGrpcClients, type GrpcClients } from '../../src/client/grpc-client.js';
import { echoLoad, inferStreamLoad, type InferStreamCall } from './grpc-load.js';

/** The product's clients, made on the first InferStream command (the daemon's port is fixed for the run). */
let product: Promise<GrpcClients> | undefined;

serveParent({ pid: process.pid }, async (message) => {
  const port = Number(message.port);
  const window = Number(message.window);
  const seconds = Number(message.seconds);
  if (message.cmd === 'inferStream') {
    product ??= createGrpcClients(`127.0.0.1:${port}`, { env: {}, maxMessageBytes: Number(message.maxMessageBytes) });
    const clients = await product;
    const open = () => clients.inference.inferStream() as unknown as InferStreamCall;
    return { ...(await inferStreamLoad(open, { modelId: String(message.modelId), texts: message.texts as string[], window, seconds })) };
  }
  if (message.cmd === 'echo') return { ...(await echoLoad(port, { bytes: Number(message.bytes), window, seconds })) };
  throw new Error(`unknown command ${String(message.cmd)}`);
});
