/**
 * A REST load generator in its own process, for row 7: the low-priority flood runs here so the
 * harness's event loop, which times the high-priority requests, is not also driving 64
 * autocannon connections. Otherwise a high request's send and its answer's read wait behind the
 * flood's own client work, and the row measures the client rather than the server.
 *
 *   child of bench/run.ts; command { cmd: 'load', url, bodies, connections, seconds }
 */
import { serveParent } from '../harness/child.js';
import { restLoad } from './rest-load.js';

serveParent({ pid: process.pid }, async (message) => {
  if (message.cmd !== 'load') throw new Error(`unknown command ${String(message.cmd)}`);
  const result = await restLoad({
    url: String(message.url),
    bodies: message.bodies as string[],
    connections: Number(message.connections),
    seconds: Number(message.seconds),
  });
  return { ...result };
});
