import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { createGrpcClients, fromStruct, protoDir, toStruct, type GrpcClients, type GrpcMessage } from '../../../src/client/grpc-client.js';
import type { ModelMoraError } from '../../../src/domain/errors.js';

/**
 * The gRPC helper against a stand-in server built from the same .proto files: promise calls,
 * auth metadata, errors rebuilt from the `error_code` trailing metadata, deadlines, streams.
 */

type Handler = (call: grpc.ServerUnaryCall<GrpcMessage, GrpcMessage>, callback: grpc.sendUnaryData<GrpcMessage>) => void;

function failure(code: grpc.status, errorCode: string, message: string): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  metadata.set('error_code', errorCode);
  metadata.set('trace_id', 'trace-1');
  if (errorCode === 'VALIDATION_ERROR') metadata.set('validation_errors', JSON.stringify([{ field: 'input_data', message: 'needs text or image' }]));
  return Object.assign(new Error(message), { code, details: message, metadata });
}

describe('createGrpcClients', () => {
  let server: grpc.Server;
  let clients: GrpcClients;
  let address: string;
  const authorizations: string[] = [];

  before(async () => {
    const definition = loader.loadSync(['modelmora/v1/inference.proto', 'modelmora/v1/management.proto', 'modelmora/v1/registry.proto'], {
      includeDirs: [protoDir()],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { modelmora: { v1: Record<string, { service: grpc.ServiceDefinition }> } };
    server = new grpc.Server();
    const infer: Handler = (call, callback) => {
      authorizations.push(String(call.metadata.get('authorization')[0] ?? ''));
      const request = call.request as { model_id: string; input_data: { data?: string; text?: string }; parameters?: unknown; priority: string };
      if (request.model_id === 'org/missing') return callback(failure(grpc.status.NOT_FOUND, 'MODEL_NOT_FOUND', "Model 'org/missing' not found"));
      if (request.input_data?.data === undefined) return callback(failure(grpc.status.INVALID_ARGUMENT, 'VALIDATION_ERROR', 'Request validation failed'));
      if (request.model_id === 'org/slow') return; // never answers: the client's deadline ends it
      const text = request.input_data.text ?? '';
      const params = fromStruct(request.parameters);
      callback(null, {
        model_id: request.model_id,
        output_data: { embedding: { values: [text.length, Number(params.scale ?? 1), request.priority === 'PRIORITY_HIGH' ? 1 : 0] } },
        metadata: { batch_size: 1, device: 'cpu' },
      });
    };
    server.addService(pkg.modelmora.v1.InferenceService!.service, {
      Infer: infer,
      InferStream: (call: grpc.ServerDuplexStream<GrpcMessage, GrpcMessage>) => {
        call.on('data', (request: { model_id: string; input_data: { text?: string } }) =>
          call.write({ model_id: request.model_id, output_data: { text: (request.input_data.text ?? '').toUpperCase() } }),
        );
        call.on('end', () => call.end());
      },
    });
    server.addService(pkg.modelmora.v1.ManagementService!.service, {
      LivenessCheck: (_call: unknown, callback: grpc.sendUnaryData<GrpcMessage>) => callback(null, { status: 'ok' }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
    clients = await createGrpcClients(address, { token: 'tok' });
  });
  after(async () => {
    clients.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  it('calls unary RPCs as promises, with Struct parameters, enum names and the bearer token', async () => {
    const response = await clients.inference.infer({
      model_id: 'org/embed',
      input_data: { text: 'hello' },
      parameters: toStruct({ scale: 3, nested: { a: [1, 'b', null] } }),
      priority: 'PRIORITY_HIGH',
    });
    assert.equal(response.model_id, 'org/embed');
    // Embedding.values come back as a Float32Array (the client's fast decoder), not a number array.
    assert.deepEqual((response.output_data as { embedding: { values: Float32Array } }).embedding.values, new Float32Array([5, 3, 1]));
    assert.equal((response.output_data as { data: string }).data, 'embedding');
    assert.deepEqual(authorizations, ['Bearer tok']);
    assert.deepEqual(await clients.management.livenessCheck({}), { status: 'ok' });
    assert.deepEqual(fromStruct(toStruct({ a: 1, b: 'x', c: true, d: null, e: [1, { f: 2 }] })), { a: 1, b: 'x', c: true, d: null, e: [1, { f: 2 }] });
  });

  it('rebuilds errors from the error_code trailing metadata', async () => {
    await assert.rejects(clients.inference.infer({ model_id: 'org/missing', input_data: { text: 'x' } }), (err: ModelMoraError) => {
      assert.equal(err.name, 'ModelMoraError');
      assert.equal(err.code, 'MODEL_NOT_FOUND');
      assert.equal(err.message, "Model 'org/missing' not found");
      assert.deepEqual(err.details, { grpc_status: grpc.status.NOT_FOUND, trace_id: 'trace-1' });
      return true;
    });
    await assert.rejects(clients.inference.infer({ model_id: 'org/embed', input_data: {} }), (err: ModelMoraError) => {
      assert.equal(err.code, 'VALIDATION_ERROR');
      assert.deepEqual(err.fieldErrors, [{ field: 'input_data', message: 'needs text or image' }]);
      return true;
    });
    // Not implemented by the stand-in: the status alone decides.
    await assert.rejects(clients.registry.getModel({ model_id: 'a/b' }), (err: ModelMoraError) => err.code === 'INTERNAL_ERROR' && err.details?.grpc_status === grpc.status.UNIMPLEMENTED);
  });

  it('honours a deadline: DEADLINE_EXCEEDED comes back as INFERENCE_TIMEOUT', async () => {
    await assert.rejects(clients.inference.infer({ model_id: 'org/slow', input_data: { text: 'x' } }, { timeoutMs: 100 }), (err: ModelMoraError) => {
      assert.equal(err.code, 'INFERENCE_TIMEOUT');
      assert.equal(err.details?.grpc_status, grpc.status.DEADLINE_EXCEEDED);
      return true;
    });
  });

  it('streams InferStream both ways, answers in order', async () => {
    const stream = clients.inference.inferStream();
    const answers: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (m: { output_data: { text: string } }) => answers.push(m.output_data.text));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (const word of ['a', 'bb', 'ccc']) stream.write({ model_id: 'org/gen', input_data: { text: word } });
    stream.end();
    await done;
    assert.deepEqual(answers, ['A', 'BB', 'CCC']);
  });

  it('says no daemon is there when nothing listens', async () => {
    const nobody = await createGrpcClients('127.0.0.1:1');
    try {
      await assert.rejects(nobody.management.livenessCheck({}, { timeoutMs: 5000 }), (err: ModelMoraError) => {
        assert.equal(err.code, 'SERVICE_UNAVAILABLE');
        assert.equal(err.message, 'no daemon at 127.0.0.1:1; start one with `modelmora serve --detach`');
        return true;
      });
    } finally {
      nobody.close();
    }
  });
});
