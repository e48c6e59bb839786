/**
 * The gRPC twin of baseline B3 (fixed-server.ts): the cheapest useful gRPC answer. A bare grpc-js
 * server whose InferenceService.Infer decodes the request (protobufjs, as the daemon's does) and
 * answers one fixed, pre-encoded 100-float embedding. Row 4 runs it against B3 under the same
 * two load generators, so its notes show what the two frameworks alone cost per call, apart
 * from anything ModelMora does.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { serveParent } from '../harness/child.js';

const PROTOS = fileURLToPath(new URL('../../../protos/', import.meta.url));
const definition = protoLoader.loadSync(path.join('modelmora', 'v1', 'inference.proto'), { includeDirs: [PROTOS], keepCase: true, enums: String, longs: Number, oneofs: true });
const service = definition['modelmora.v1.InferenceService'] as protoLoader.ServiceDefinition;
const infer = service['Infer']!;
// 100 floats with the digits a real embedding has, encoded once.
const values = Array.from({ length: 100 }, (_, i) => Math.fround(Math.sin(i + 1) / 10));
const answer = infer.responseSerialize({ model_id: 'fixed', output_data: { embedding: { values } } });

const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
server.addService({ Infer: { ...infer, responseSerialize: () => answer } }, {
  Infer: (call: grpc.ServerUnaryCall<{ input_data?: { text?: unknown } }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    if (typeof call.request.input_data?.text !== 'string') callback({ code: grpc.status.INVALID_ARGUMENT, details: 'input_data.text must be a string' });
    else callback(null, {});
  },
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
);
serveParent({ port }, async () => ({}));
