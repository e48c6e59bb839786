import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InFlightLimit } from '../../src/services/in-flight.js';
import type { GrpcServer } from '../../src/api/grpc/server.js';
import { Registry } from '../../src/store/registry.js';
import { FakeEngine } from '../support/fake-engine.js';
import { testGrpcServer } from '../support/grpc-server.js';
import { grpc, grpcClients, type GrpcClients } from '../support/grpc-client.js';

// The in-flight cap and the per-call message limit over gRPC, in process: the same InFlightLimit
// the REST skin counts against, so a call beyond it is UNAVAILABLE with error_code and retry-after.

let home: string;
let server: GrpcServer;
let c: GrpcClients;
const engine = new FakeEngine();
const inFlight = new InFlightLimit(2);

before(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'modelmora-grpc-limits-'));
  const registry = await Registry.open({ home });
  await registry.register({ model_id: 'org/text', task_type: 'txt2embed' });
  server = testGrpcServer({
    config: { grpc_max_message_mb: 1, grpc_image_max_message_mb: 2, max_text_chars: 10_000_000 },
    registry,
    engine,
    inFlight,
  });
  c = grpcClients(await server.listen('127.0.0.1', 0), { 'grpc.max_send_message_length': 8 * 1024 * 1024 });
});

after(async () => {
  c?.close();
  await server?.shutdown(1000);
  await rm(home, { recursive: true, force: true });
});

test('over max_in_flight: UNAVAILABLE with SERVICE_UNAVAILABLE and retry-after; health still answers; slots come back', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  engine.behaviour = async (request) => {
    await gate;
    engine.behaviour = undefined;
    return engine.infer(request);
  };
  const held = [c.call('inference', 'Infer', { model_id: 'org/text', input_data: { text: 'a' } }), c.call('inference', 'Infer', { model_id: 'org/text', input_data: { text: 'b' } })];
  for (let i = 0; i < 200 && inFlight.inFlight < 2; i++) await sleep(5);
  assert.equal(inFlight.inFlight, 2);
  const refused = await c.fail('registry', 'ListModels', {});
  assert.equal(refused.code, grpc.status.UNAVAILABLE);
  assert.equal(refused.trailers['error_code'], 'SERVICE_UNAVAILABLE');
  assert.equal(refused.trailers['retry-after'], '1');
  const health = await c.call<{ status: string }>('health', 'Check', { service: '' });
  assert.equal(health.response.status, 'SERVING');
  release();
  await Promise.all(held);
  assert.equal(inFlight.inFlight, 0);
  await c.call('registry', 'ListModels', {});
});

test('a registry call over grpc_max_message_mb is PAYLOAD_TOO_LARGE before its handler runs; a text model held to the same', async () => {
  const big = await c.fail('registry', 'RegisterModel', { model_id: 'org/big', task_type: 'TASK_TYPE_TXT2EMBED', description: 'd'.repeat(1024 * 1024 + 10) });
  assert.equal(big.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(big.trailers['error_code'], 'PAYLOAD_TOO_LARGE');
  const calls = engine.inferCalls.length;
  const text = await c.fail('inference', 'Infer', { model_id: 'org/text', input_data: { text: 't'.repeat(1024 * 1024 + 10) } });
  assert.equal(text.trailers['error_code'], 'PAYLOAD_TOO_LARGE');
  assert.equal(engine.inferCalls.length, calls, 'never reached the engine');
});
