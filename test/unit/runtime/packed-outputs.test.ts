import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import type { ItemOutput } from '../../../src/domain/inference.js';
import { packOutputs, unpackOutputs } from '../../../src/runtime/packed-outputs.js';

const floats = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i + seed) * 100);

describe('packOutputs / unpackOutputs', () => {
  it('views of one buffer travel as one span and come back as equal views of one array', () => {
    const all = floats(12, 1);
    const outputs: ItemOutput[] = [
      { kind: 'embedding', embedding: all.subarray(0, 4) },
      { kind: 'text', text: 'between' },
      { kind: 'embedding', embedding: all.subarray(4, 12) },
    ];
    const packed = packOutputs(outputs);
    assert.equal(packed.floats?.length, 12);
    assert.deepEqual(packed.outputs[0], { kind: 'embedding-range', offset: 0, length: 4 });
    // Through a structured clone, as the IPC's `advanced` serialization carries it.
    const back = unpackOutputs(deserialize(serialize(packed)) as typeof packed);
    assert.deepEqual(back, outputs);
    const [a, , b] = back as { embedding: Float32Array }[];
    assert.equal(a!.embedding.buffer, b!.embedding.buffer);
  });

  it('a span starting inside its buffer sends only the items’ floats', () => {
    const backing = floats(20, 2);
    const outputs: ItemOutput[] = [
      { kind: 'embedding', embedding: backing.subarray(8, 13) },
      { kind: 'embedding', embedding: backing.subarray(3, 8) },
    ];
    const packed = packOutputs(outputs);
    assert.deepEqual(packed.floats, backing.subarray(3, 13));
    assert.deepEqual(unpackOutputs(deserialize(serialize(packed)) as typeof packed), outputs);
  });

  it('separate arrays, gaps, number arrays and a lone embedding travel as they are', () => {
    const backing = floats(10, 3);
    const cases: ItemOutput[][] = [
      [{ kind: 'embedding', embedding: floats(3, 4) }, { kind: 'embedding', embedding: floats(3, 5) }],
      [{ kind: 'embedding', embedding: backing.subarray(0, 3) }, { kind: 'embedding', embedding: backing.subarray(5, 8) }],
      [{ kind: 'embedding', embedding: [1, 2] }, { kind: 'embedding', embedding: [3] }],
      [{ kind: 'embedding', embedding: backing }],
    ];
    for (const outputs of cases) {
      const packed = packOutputs(outputs);
      assert.equal(packed.floats, undefined);
      assert.equal(packed.outputs, outputs);
      assert.equal(unpackOutputs(packed).length, outputs.length);
    }
  });

  it('a range outside the floats is refused', () => {
    assert.throws(() => unpackOutputs({ outputs: [{ kind: 'embedding-range', offset: 2, length: 4 }], floats: new Float32Array(5) }), RangeError);
    assert.throws(() => unpackOutputs({ outputs: [{ kind: 'embedding-range', offset: 0, length: 1 }] }), RangeError);
  });
});
