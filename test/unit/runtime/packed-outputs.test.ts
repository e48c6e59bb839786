import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { deserialize, serialize } from 'node:v8';
import type { ItemOutput } from '../../../src/domain/inference.js';
import { packOutputs, resultMessage, unpackOutputs } from '../../../src/runtime/packed-outputs.js';

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

  it('a result message’s floats reach the parent as a view of the received bytes, not a copy', async () => {
    // A real child on Node's `advanced` IPC, as a runner talks to the daemon; sizes whose byte
    // length takes 2, 3 and 4 varint bytes.
    const lengths = [300, 25_000, 786_432];
    const module = new URL('../../../src/runtime/packed-outputs.js', import.meta.url).href;
    const code = `const { resultMessage } = await import(${JSON.stringify(module)});
      for (const n of ${JSON.stringify(lengths)}) {
        const all = Float32Array.from({ length: n }, (_, i) => i % 1000);
        const message = resultMessage(n, [{ kind: 'embedding', embedding: all.subarray(0, n / 2) }, { kind: 'embedding', embedding: all.subarray(n / 2) }], 1);
        await new Promise((sent) => process.send(message, sent));
      }
      process.disconnect();`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    const received: { id: number; floats: Float32Array }[] = [];
    child.on('message', (message) => received.push(message as { id: number; floats: Float32Array }));
    await new Promise((resolve) => child.once('exit', resolve));
    assert.deepEqual(received.map((m) => m.id), lengths);
    for (const { id, floats } of received) {
      assert.equal(floats.length, id);
      assert.equal(floats[id - 1], (id - 1) % 1000);
      assert.ok(floats.buffer.byteLength > floats.byteLength, `${id} floats: a view into the message, not a copy of their own`);
    }
  });

  it('resultMessage sends outputs without a shared buffer as they are', () => {
    const outputs: ItemOutput[] = [{ kind: 'text', text: 'a' }];
    assert.deepEqual(resultMessage(7, outputs, 2), { type: 'result', id: 7, outputs, inferenceMs: 2 });
  });
});
