import type { Metadata, ServerDuplexStream, ServiceDefinition, UntypedHandleCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { checkAccess, checkAccessNow, type Authenticator } from '../../auth/authenticator.js';
import { isAccessLevel, type AccessLevel, type Principal } from '../../auth/principal.js';
import { toModelMoraError } from '../../domain/errors.js';
import { logFailure, setCallPrincipal, toStatus, traceIdOf, type GrpcLog } from './call.js';

/**
 * Access control of the gRPC skin: what each RPC needs, the same levels REST routes declare,
 * checked by the same checkAccess against the `authorization: Bearer <token>` metadata. A
 * refused call ends with UNAUTHENTICATED or PERMISSION_DENIED and `error_code` in the trailing
 * metadata, before its handler runs. An RPC missing from this table makes the server fail to
 * build, so nothing is served by accident.
 */
export const RPC_ACCESS: Readonly<Record<string, Readonly<Record<string, AccessLevel>>>> = {
  'modelmora.v1.InferenceService': {
    Infer: 'inference',
    InferAsync: 'inference',
    InferStream: 'inference',
    // Job RPCs: an inference caller reaches only its own jobs (checked in the handlers).
    GetJobStatus: 'inference',
    GetJobResult: 'inference',
    CancelJob: 'inference',
  },
  'modelmora.v1.RegistryService': {
    RegisterModel: 'admin',
    ListModels: 'inference',
    GetModel: 'inference',
    UpdateModel: 'admin',
    DeleteModel: 'admin',
    DownloadModel: 'admin',
    GenerateLock: 'admin',
  },
  'modelmora.v1.ManagementService': {
    LoadModel: 'admin',
    UnloadModel: 'admin',
    GetSystemStatus: 'inference',
    // Probes carry no token; GetModelHealth answers what REST's open /health/models does.
    GetModelHealth: 'public',
    LivenessCheck: 'public',
    ReadinessCheck: 'public',
  },
  'grpc.health.v1.Health': {
    Check: 'public',
    Watch: 'public',
  },
};

/**
 * Wraps every handler of a service with the access check of its RPC. Unary and client-stream
 * handlers answer a refusal through their callback; streams that answer with writes (server
 * stream, bidi) end with the error status. A stream's messages wait, buffered and paused, until
 * the check is done, so none is lost or handled unchecked.
 */
export function guardService(
  serviceName: string,
  definition: ServiceDefinition,
  implementation: UntypedServiceImplementation,
  auth: Authenticator | undefined,
  log?: GrpcLog,
): UntypedServiceImplementation {
  const table = RPC_ACCESS[serviceName] ?? {};
  const guarded: UntypedServiceImplementation = {};
  for (const [method, attrs] of Object.entries(definition)) {
    const access = table[method];
    if (!isAccessLevel(access)) throw new Error(`RPC ${serviceName}/${method} declares no access level (RPC_ACCESS)`);
    const handler = implementation[method];
    if (!handler) continue;
    const callbackStyle = !attrs.responseStream;
    guarded[method] = ((call: ServerDuplexStream<unknown, unknown> & { metadata: Metadata }, callback?: (err: unknown) => void) => {
      const pass = (principal: Principal) => {
        setCallPrincipal(call, principal);
        (handler as (call: unknown, callback?: unknown) => void)(call, callback);
      };
      const refuse = (err: unknown) => {
        const traceId = traceIdOf(call);
        const mm = toModelMoraError(err);
        logFailure(log, { traceId, method: `/${serviceName}/${method}` }, mm);
        const status = toStatus(mm, traceId);
        if (callbackStyle && callback) callback(status);
        else call.emit('error', status);
      };
      const authorization = call.metadata.get('authorization').filter((v): v is string => typeof v === 'string');
      const request = { authorization: authorization.length > 1 ? authorization : authorization[0] };
      // Without tokens (or on a public RPC) the call goes on at once, with no promise in between.
      let principal: Principal | undefined;
      try {
        principal = checkAccessNow(auth, request, access);
      } catch (err) {
        refuse(err);
        return;
      }
      if (principal !== undefined) pass(principal);
      else checkAccess(auth, request, access).then(pass, refuse);
    }) as UntypedHandleCall;
  }
  return guarded;
}
