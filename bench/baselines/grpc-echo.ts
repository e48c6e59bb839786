/**
 * Baseline B5: the transport's limit for large messages. A bare grpc-js bidirectional stream
 * that echoes each message as is: no protobuf, no copies beyond grpc-js's own.
 */
import * as grpc from '@grpc/grpc-js';
import { serveParent } from '../harness/child.js';
import { ECHO_MAX_MESSAGE, ECHO_SERVICE } from '../load/echo-service.js';

const server = new grpc.Server({ 'grpc.max_receive_message_length': ECHO_MAX_MESSAGE, 'grpc.max_send_message_length': ECHO_MAX_MESSAGE });
server.addService(ECHO_SERVICE, {
  Echo: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
    call.on('data', (message: Buffer) => call.write(message));
    call.on('end', () => call.end());
  },
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
);
serveParent({ port }, async () => ({}));
