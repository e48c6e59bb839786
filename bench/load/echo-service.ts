/** The bare gRPC echo service of baseline B5: raw bytes through identity serializers, no protobuf. */
import type * as grpc from '@grpc/grpc-js';

export const ECHO_SERVICE: grpc.ServiceDefinition = {
  Echo: {
    path: '/bench.Echo/Echo',
    requestStream: true,
    responseStream: true,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

/** The message limit both sides allow (ModelMora's default grpc_max_message_mb is 16). */
export const ECHO_MAX_MESSAGE = 16 * 1024 * 1024;
