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

const sizes = new WeakMap<object, number>();

/** The service definition with each request's decoded size recorded. */
export function measured(definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(definition)) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        const message: unknown = method.requestDeserialize(bytes);
        if (typeof message === 'object' && message !== null) sizes.set(message, bytes.length);
        return message;
      },
    };
  }
  return out as ServiceDefinition;
}

/** Wire bytes of a request decoded through a measured() definition (0 if unknown). */
export function messageBytes(message: unknown): number {
  return typeof message === 'object' && message !== null ? (sizes.get(message) ?? 0) : 0;
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
