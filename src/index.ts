/**
 * The package entry: `import { ModelMoraClient } from 'modelmora'`. The typed REST client, the
 * gRPC helper, the error class with its codes, and the API's types. Nothing here loads the
 * daemon, ink or onnxruntime; the gRPC libraries load on the first createGrpcClients call.
 */
export { ModelMoraClient, inferenceBody, type ModelMoraClientOptions, type InferRequest } from './client/client.js';
export {
  createGrpcClients,
  errorFromGrpc,
  fromStruct,
  protoDir,
  toStruct,
  type GrpcCallOptions,
  type GrpcClientOptions,
  type GrpcClients,
  type GrpcMessage,
  type GrpcStruct,
  type InferenceServiceClient,
  type ManagementServiceClient,
  type RegistryServiceClient,
  type UnaryCall,
} from './client/grpc-client.js';
export { DEFAULT_URL } from './client/daemon-url.js';
export type * from './client/types.js';
export { ERROR_CODES, GrpcStatus, ModelMoraError, isErrorCode, type ErrorCode, type FieldError } from './domain/errors.js';
export { JOB_STATES } from './domain/jobs.js';
export { PRIORITIES, TASK_TYPES, isPriority, isTaskType } from './domain/task-type.js';
export type { InferenceMetadata } from './domain/inference.js';
export { VERSION } from './version.js';
