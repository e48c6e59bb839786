import type { ServiceDefinition } from '@grpc/grpc-js';
import { ModelMoraError } from '../../domain/errors.js';

/**
 * Per-call message limits. grpc-js caps every message of a server with one number (its
 * max_receive_message_length, set to the largest limit: image inference); a message above it is
 * refused by grpc-js itself with RESOURCE_EXHAUSTED (no error_code). Below it, this module lets
 * a handler hold a message to a smaller limit: each request's wire size is remembered when it is
 * decoded, and checkMessageSize answers PAYLOAD_TOO_LARGE (RESOURCE_EXHAUSTED with error_code)
 * before any work: registry and management calls and text inference are held to
 * grpc_max_message_mb, image inference to grpc_image_max_message_mb.
 */

/** Each decoded request's wire size, on the message itself (a WeakMap entry per call cost more). */
const WIRE_BYTES = Symbol('modelmora.wireBytes');
/** Requests that did not decode, with the reason: answered VALIDATION_ERROR by the handler. */
const undecodable = new WeakMap<object, string>();

/**
 * The service definition with each request's decoded size recorded. A request that does not
 * decode (nested deeper than protobuf's 100 levels, malformed bytes) becomes an empty marker
 * object instead of a grpc-js INTERNAL error, so the call is answered VALIDATION_ERROR
 * (INVALID_ARGUMENT with error_code) like any other bad input.
 */
export function measured(definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(definition)) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        let message: unknown;
        try {
          message = method.requestDeserialize(bytes);
        } catch (err) {
          const marker = {};
          undecodable.set(marker, /nesting depth/.test(String((err as Error).message)) ? 'is nested deeper than protobuf allows' : 'is not a valid protobuf message');
          message = marker;
        }
        if (typeof message === 'object' && message !== null) (message as { [WIRE_BYTES]?: number })[WIRE_BYTES] = bytes.length;
        return message;
      },
    };
  }
  return out as ServiceDefinition;
}

/** Throws VALIDATION_ERROR for a request that did not decode (see measured). */
export function checkDecoded(message: unknown): void {
  const reason = typeof message === 'object' && message !== null ? undecodable.get(message) : undefined;
  if (reason !== undefined) {
    throw new ModelMoraError('VALIDATION_ERROR', `The request message ${reason}`, { fieldErrors: [{ field: 'message', message: reason }] });
  }
}

/** Wire bytes of a request decoded through a measured() definition (0 if unknown). */
export function messageBytes(message: unknown): number {
  return typeof message === 'object' && message !== null ? ((message as { [WIRE_BYTES]?: number })[WIRE_BYTES] ?? 0) : 0;
}

export function checkMessageSize(message: unknown, limitBytes: number): void {
  const bytes = messageBytes(message);
  if (bytes > limitBytes) {
    const mb = (n: number) => Math.round((n / (1024 * 1024)) * 100) / 100;
    throw new ModelMoraError('PAYLOAD_TOO_LARGE', `Message is ${mb(bytes)} MB; at most ${mb(limitBytes)} MB are allowed here`, {
      details: { max_bytes: limitBytes, received_bytes: bytes },
    });
  }
}

export const MIB = 1024 * 1024;
