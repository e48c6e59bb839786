import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { DeathWatch } from '../../../src/scheduler/resident.js';

const dead = () => new ModelMoraError('UNHEALTHY_MODEL', 'Runner of model m exited unexpectedly (code 1)');

describe('DeathWatch', () => {
  it('a race settles as its run does and leaves nothing waiting on the death', async () => {
    const watch = new DeathWatch();
    const outputs = { outputs: [new Float32Array(4)] };
    const runs = [watch.race(Promise.resolve(outputs)), watch.race(Promise.reject(new ModelMoraError('INFERENCE_FAILED', 'bad input')))];
    assert.equal(watch.waiting, 2);
    assert.equal(await runs[0], outputs);
    await assert.rejects(runs[1]!, (err: ModelMoraError) => err.code === 'INFERENCE_FAILED');
    // A promise race would keep one reaction (holding the result) per run on a never-settled promise.
    assert.equal(watch.waiting, 0);
  });

  it('a death rejects the runs waiting and every later race, whatever their runs do', async () => {
    const watch = new DeathWatch();
    let finish!: (value: string) => void;
    const waiting = watch.race(new Promise<string>((resolve) => (finish = resolve)));
    watch.kill(dead());
    watch.kill(new ModelMoraError('INTERNAL_ERROR', 'second call ignored'));
    await assert.rejects(waiting, (err: ModelMoraError) => err.code === 'UNHEALTHY_MODEL');
    finish('late result');
    await assert.rejects(watch.race(Promise.resolve('after death')), (err: ModelMoraError) => err.code === 'UNHEALTHY_MODEL');
    // A failing run after the death is not an unhandled rejection (the test runner would report it).
    await assert.rejects(watch.race(Promise.reject(new Error('ignored'))), (err: ModelMoraError) => err.code === 'UNHEALTHY_MODEL');
    assert.equal(watch.waiting, 0);
  });
});
