import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadSync } from '@grpc/proto-loader';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { RPC_ACCESS, guardService } from '../../src/api/grpc/rpc-access.js';
import { PROTO_FILES, PROTO_OPTIONS, type GrpcServer } from '../../src/api/grpc/server.js';
import { ACCESS_LEVELS } from '../../src/auth/principal.js';
import { createGrpcClients } from '../../src/client/grpc-client.js';
import { ModelMoraError } from '../../src/domain/errors.js';
import { DurableJobService } from '../../src/jobs/job-service.js';
import { LogJobStore } from '../../src/jobs/log-job-store.js';
import { Registry } from '../../src/store/registry.js';
import { settle } from '../fixtures/manual-clock.js';
import { FakeEngine } from '../support/fake-engine.js';
import { testGrpcServer } from '../support/grpc-server.js';
import { grpc, grpcClients, type GrpcClients, type ServiceName } from '../support/grpc-client.js';
import { ADMIN, ALICE, BOB, principalsAuthenticator } from '../support/principals.js';

/**
 * Access control of the gRPC skin, in this process on a real 127.0.0.1 port: every RPC has an
 * access level, refusals are UNAUTHENTICATED / PERMISSION_DENIED with error_code in the
 * trailers, the same rules REST follows, and job owners.
 */

const S = grpc.status;
const as = (token: string) => ({ metadata: { authorization: `Bearer ${token}` } });

describe('gRPC access control', () => {
  let home: string;
  let store: LogJobStore;
  let jobs: DurableJobService;
  let server: GrpcServer;
  let port: number;
  let c: GrpcClients;

  before(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'modelmora-grpc-access-'));
    const registry = await Registry.open({ home });
    await registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    await registry.register({ model_id: 'org/other', task_type: 'txt2embed' });
    const engine = new FakeEngine();
    store = await LogJobStore.open(path.join(home, 'jobs'));
    jobs = new DurableJobService({ engine, store, retentionMs: 3_600_000 });
    const auth = await principalsAuthenticator(home);
    server = testGrpcServer({ registry, engine, jobs, auth });
    port = await server.listen('127.0.0.1', 0);
    c = grpcClients(port);
  });

  after(async () => {
    c?.close();
    await server?.shutdown(1000);
    await jobs?.drain();
    await store?.close();
    await rm(home, { recursive: true, force: true });
  });

  test('every RPC of every served service has an access level, and the table names no RPC that does not exist', () => {
    const definitions = loadSync(PROTO_FILES, PROTO_OPTIONS);
    const services = Object.entries(definitions).filter(([, d]) => !('format' in d) && typeof d === 'object' && Object.values(d).some((m) => typeof (m as { path?: unknown }).path === 'string'));
    assert.deepEqual(services.map(([name]) => name).sort(), Object.keys(RPC_ACCESS).sort());
    for (const [name, definition] of services) {
      const methods = Object.keys(definition as ServiceDefinition).sort();
      assert.deepEqual(Object.keys(RPC_ACCESS[name]!).sort(), methods, name);
      for (const method of methods) assert.ok((ACCESS_LEVELS as readonly string[]).includes(RPC_ACCESS[name]![method]!), `${name}/${method}`);
    }
  });

  test('an RPC without an access level makes the server fail to build (fail closed)', () => {
    const definition = { Extra: { path: '/modelmora.v1.ManagementService/Extra', requestStream: false, responseStream: false } } as unknown as ServiceDefinition;
    assert.throws(() => guardService('modelmora.v1.ManagementService', definition, { Extra: () => undefined }, undefined), /Extra declares no access level/);
    assert.throws(() => guardService('modelmora.v1.Unknown', definition, {}, undefined), /declares no access level/);
  });

  test('answers each RPC by token: none UNAUTHENTICATED, too small a scope PERMISSION_DENIED, with error_code', async () => {
    const cases: Array<{ service: ServiceName; method: string; request: Record<string, unknown>; expect: [number, number, number] }> = [
      { service: 'health', method: 'Check', request: { service: '' }, expect: [S.OK, S.OK, S.OK] },
      { service: 'management', method: 'LivenessCheck', request: {}, expect: [S.OK, S.OK, S.OK] },
      { service: 'management', method: 'ReadinessCheck', request: {}, expect: [S.OK, S.OK, S.OK] },
      { service: 'management', method: 'GetModelHealth', request: {}, expect: [S.OK, S.OK, S.OK] },
      { service: 'management', method: 'GetSystemStatus', request: {}, expect: [S.UNAUTHENTICATED, S.OK, S.OK] },
      { service: 'registry', method: 'ListModels', request: {}, expect: [S.UNAUTHENTICATED, S.OK, S.OK] },
      { service: 'registry', method: 'GetModel', request: { model_id: 'org/embed' }, expect: [S.UNAUTHENTICATED, S.OK, S.OK] },
      { service: 'inference', method: 'Infer', request: { model_id: 'org/embed', input_data: { text: 'a b' } }, expect: [S.UNAUTHENTICATED, S.OK, S.OK] },
      { service: 'registry', method: 'RegisterModel', request: { model_id: 'org/new', task_type: 'TASK_TYPE_TXT2EMBED' }, expect: [S.UNAUTHENTICATED, S.PERMISSION_DENIED, S.OK] },
      { service: 'registry', method: 'UpdateModel', request: { model_id: 'org/embed', description: 'x' }, expect: [S.UNAUTHENTICATED, S.PERMISSION_DENIED, S.OK] },
      { service: 'registry', method: 'GenerateLock', request: {}, expect: [S.UNAUTHENTICATED, S.PERMISSION_DENIED, S.OK] },
      { service: 'registry', method: 'DownloadModel', request: { model_id: 'org/embed' }, expect: [S.UNAUTHENTICATED, S.PERMISSION_DENIED, S.OK] },
      { service: 'management', method: 'LoadModel', request: { model_id: 'org/embed' }, expect: [S.UNAUTHENTICATED, S.PERMISSION_DENIED, S.OK] },
      { service: 'management', method: 'UnloadModel', request: { model_id: 'org/embed' }, expect: [S.UNAUTHENTICATED, S.PERMISSION_DENIED, S.OK] },
      { service: 'registry', method: 'DeleteModel', request: { model_id: 'org/other', force: true }, expect: [S.UNAUTHENTICATED, S.PERMISSION_DENIED, S.OK] },
    ];
    for (const k of cases) {
      const codes: number[] = [];
      for (const options of [{}, as(ALICE), as(ADMIN)]) {
        try {
          await c.call(k.service, k.method, k.request, options);
          codes.push(S.OK);
        } catch (err) {
          const failure = err as { code: number; trailers: Record<string, string> };
          codes.push(failure.code);
          if (failure.code === S.UNAUTHENTICATED) assert.equal(failure.trailers['error_code'], 'UNAUTHORIZED');
          if (failure.code === S.PERMISSION_DENIED) assert.equal(failure.trailers['error_code'], 'FORBIDDEN');
          assert.ok(failure.trailers['trace_id'], 'a refusal carries a trace_id');
        }
      }
      assert.deepEqual(codes, k.expect, `${k.service}.${k.method}`);
    }
  });

  test('malformed, unknown and repeated authorization metadata is UNAUTHENTICATED', async () => {
    for (const authorization of ['', 'Bearer', `Basic ${ALICE}`, `Bearer ${ALICE}x`, `Bearer ${ALICE} ${ALICE}`]) {
      const failure = await c.fail('registry', 'ListModels', {}, { metadata: { authorization } });
      assert.equal(failure.code, S.UNAUTHENTICATED, JSON.stringify(authorization));
      assert.equal(failure.trailers['error_code'], 'UNAUTHORIZED');
      assert.ok(!failure.details.includes(ALICE));
    }
  });

  test('InferStream: refused without a token before any message is handled; served with one', async () => {
    const stream = (metadata: Record<string, string>) =>
      new Promise<{ code: number; errorCode: string | undefined; answers: number }>((resolve) => {
        const md = new grpc.Metadata();
        for (const [k, v] of Object.entries(metadata)) md.set(k, v);
        const call = (c.inference as unknown as { InferStream(md: grpc.Metadata): grpc.ClientDuplexStream<object, object> }).InferStream(md);
        let answers = 0;
        call.on('data', () => answers++);
        call.on('status', (status: grpc.StatusObject) => resolve({ code: status.code, errorCode: status.metadata.get('error_code')[0] as string | undefined, answers }));
        call.on('error', () => undefined);
        call.write({ model_id: 'org/embed', input_data: { text: 'a' }, request_id: 'r1' });
        call.end();
      });
    assert.deepEqual(await stream({}), { code: S.UNAUTHENTICATED, errorCode: 'UNAUTHORIZED', answers: 0 });
    assert.deepEqual(await stream({ authorization: `Bearer ${ALICE}` }), { code: S.OK, errorCode: undefined, answers: 1 });
  });

  test('jobs: an inference caller reaches only its own jobs (others are JOB_NOT_FOUND); admin reaches all', async () => {
    const submit = async (token: string) => (await c.call<{ job_id: string }>('inference', 'InferAsync', { model_id: 'org/embed', input_data: { text: 'a' } }, as(token))).response.job_id;
    const aliceJob = await submit(ALICE);
    for (let i = 0; i < 3; i++) {
      await settle();
      await jobs.flushed();
    }
    assert.equal((await c.call<{ status: string }>('inference', 'GetJobStatus', { job_id: aliceJob }, as(ALICE))).response.status, 'JOB_STATUS_COMPLETED');
    assert.equal((await c.call('inference', 'GetJobResult', { job_id: aliceJob }, as(ADMIN))).response['model_id'], 'org/embed');
    for (const method of ['GetJobStatus', 'GetJobResult', 'CancelJob']) {
      const failure = await c.fail('inference', method, { job_id: aliceJob }, as(BOB));
      assert.equal(failure.code, S.NOT_FOUND, method);
      assert.equal(failure.trailers['error_code'], 'JOB_NOT_FOUND', method);
    }
  });

  test('the gRPC client helper sends MODELMORA_TOKEN as authorization metadata', async () => {
    const withEnv = await createGrpcClients(`127.0.0.1:${port}`, { env: { MODELMORA_TOKEN: ADMIN } });
    const without = await createGrpcClients(`127.0.0.1:${port}`, { env: {} });
    try {
      assert.equal(((await withEnv.registry.generateLock({})) as { version: string }).version, '1.0');
      await assert.rejects(without.registry.listModels({}), (err: unknown) => err instanceof ModelMoraError && err.code === 'UNAUTHORIZED');
      const explicit = await createGrpcClients(`127.0.0.1:${port}`, { token: ALICE, env: { MODELMORA_TOKEN: ADMIN } });
      await assert.rejects(explicit.registry.generateLock({}), (err: unknown) => err instanceof ModelMoraError && err.code === 'FORBIDDEN', 'an explicit token wins over the env');
      explicit.close();
    } finally {
      withEnv.close();
      without.close();
    }
  });
});
