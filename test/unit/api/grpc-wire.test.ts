import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_FILES, PROTO_OPTIONS } from '../../../src/api/grpc/server.js';
import { boundedTimeout } from '../../../src/services/inference-service.js';
import { fromStruct, priorityOf, taskTypeName, taskTypeOf, toStruct, toTimestamp, type ProtoStruct } from '../../../src/api/grpc/wire.js';
import { ModelMoraError } from '../../../src/domain/errors.js';

describe('gRPC wire mapping', () => {
  test('Struct <-> JSON keeps numbers, strings, booleans, nulls, lists and nesting', () => {
    const value = { a: 1.5, b: 'x', c: true, d: null, e: [1, 'two', { f: false }], g: { h: { i: [] } } };
    const struct = toStruct(value);
    // Through the real encoder and decoder, as a request's parameters.
    const infer = (loadSync(PROTO_FILES, PROTO_OPTIONS)['modelmora.v1.InferenceService'] as ServiceDefinition)['Infer']!;
    const decoded = (infer.requestDeserialize(infer.requestSerialize({ parameters: struct })) as { parameters: ProtoStruct }).parameters;
    assert.deepEqual(fromStruct(decoded, 'parameters'), value);
    assert.equal(fromStruct(null, 'parameters'), undefined);
  });

  test('a Struct key named __proto__, or constructor holding prototype, is a VALIDATION_ERROR naming it (as over REST)', () => {
    const refused = (struct: ProtoStruct, field: string) =>
      assert.throws(
        () => fromStruct(struct, 'config'),
        (err: unknown) => err instanceof ModelMoraError && err.code === 'VALIDATION_ERROR' && err.fieldErrors?.[0]?.field === field,
      );
    refused({ fields: { ['__proto__']: { kind: 'stringValue', stringValue: 'x' } } }, 'config.__proto__');
    refused({ fields: { a: { kind: 'structValue', structValue: { fields: { constructor: { kind: 'structValue', structValue: { fields: { prototype: { kind: 'numberValue', numberValue: 1 } } } } } } } } }, 'config.constructor');
    // A plain key named constructor is fine.
    const out = fromStruct({ fields: { constructor: { kind: 'stringValue', stringValue: 'x' } } }, 'config');
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(out, { constructor: 'x' });
  });

  test('a Struct nested deeper than 32 levels is a VALIDATION_ERROR naming the field', () => {
    let struct: ProtoStruct = { fields: {} };
    for (let i = 0; i < 40; i++) struct = { fields: { k: { kind: 'structValue', structValue: struct } } };
    assert.throws(
      () => fromStruct(struct, 'parameters'),
      (err: unknown) => err instanceof ModelMoraError && err.code === 'VALIDATION_ERROR' && err.fieldErrors?.[0]?.field === 'parameters',
    );
  });

  test('timestamps, task types and priorities', () => {
    assert.deepEqual(toTimestamp('2025-01-01T00:00:01.250Z'), { seconds: 1735689601, nanos: 250_000_000 });
    assert.equal(toTimestamp(undefined), null);
    assert.equal(taskTypeName('img2txt'), 'TASK_TYPE_IMG2TXT');
    assert.equal(taskTypeOf('TASK_TYPE_TXT2EMBED'), 'txt2embed');
    assert.equal(taskTypeOf('TASK_TYPE_UNSPECIFIED'), undefined);
    assert.equal(taskTypeOf(9), undefined);
    assert.equal(priorityOf('PRIORITY_HIGH'), 'high');
    assert.equal(priorityOf('PRIORITY_UNSPECIFIED'), undefined);
    assert.equal(priorityOf(7), 7, 'an unknown number goes on to the validator, which refuses it');
  });

  test('the engine timeout is bounded by the call deadline, a little before it; an expired deadline never runs', () => {
    const now = 1_000_000;
    assert.equal(boundedTimeout(60, Infinity, now), 60);
    assert.equal(boundedTimeout(5, now + 60_000, now), 5);
    assert.equal(boundedTimeout(60, now + 2_000, now), 1.75);
    assert.equal(boundedTimeout(60, now + 100, now), 0.08);
    for (const deadline of [now, now - 1]) {
      assert.throws(() => boundedTimeout(60, deadline, now), (err: unknown) => err instanceof ModelMoraError && err.code === 'INFERENCE_TIMEOUT');
    }
  });
});
