import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { alphasCumprod, createScheduler, parseSchedulerConfig, spacedTimesteps } from '../../../src/runtime/diffusion/scheduler.js';

// Stable Diffusion 1.x's scheduler config (as in runwayml/stable-diffusion-v1-5).
const SD15 = {
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  num_train_timesteps: 1000,
  steps_offset: 1,
  set_alpha_to_one: false,
  clip_sample: false,
  prediction_type: 'epsilon',
};

const euler = (extra: Record<string, unknown> = {}) => parseSchedulerConfig({ _class_name: 'EulerDiscreteScheduler', ...SD15, ...extra });
const ddim = (extra: Record<string, unknown> = {}) => parseSchedulerConfig({ _class_name: 'DDIMScheduler', ...SD15, ...extra });

/** The formulas in float64, written out independently of the implementation. */
function referenceSigmas(): number[] {
  const n = 1000;
  const start = Math.sqrt(0.00085);
  const end = Math.sqrt(0.012);
  let product = 1;
  const sigmas: number[] = [];
  for (let i = 0; i < n; i++) {
    const beta = (start + ((end - start) * i) / (n - 1)) ** 2;
    product *= 1 - beta;
    sigmas.push(Math.sqrt((1 - product) / product));
  }
  return sigmas;
}

function close(actual: number, expected: number, relative = 1e-4): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.max(1, Math.abs(expected)), `${actual} != ${expected}`);
}

describe('diffusion schedulers (diffusers values)', () => {
  test('SD 1.5 training sigmas: sigma_max 14.6146, sigma_min 0.0292 (the numbers diffusers prints)', () => {
    const cumprod = alphasCumprod(euler());
    const sigma = (t: number) => Math.sqrt((1 - cumprod[t]!) / cumprod[t]!);
    close(sigma(999), 14.6146, 1e-5);
    close(sigma(0), 0.0292, 1e-3);
    const reference = referenceSigmas();
    for (const t of [0, 1, 250, 500, 981, 999]) close(sigma(t), reference[t]!, 1e-5);
  });

  test('Euler, 50 steps, leading + steps_offset 1: timesteps 981, 961 ... 1; sigmas interpolated; init sigma sqrt(max² + 1)', () => {
    const plan = createScheduler(euler({ timestep_spacing: 'leading' }), 50);
    assert.equal(plan.timesteps.length, 50);
    assert.deepEqual(plan.timesteps.slice(0, 3), [981, 961, 941]);
    assert.equal(plan.timesteps.at(-1), 1);
    const reference = referenceSigmas();
    assert.equal(plan.sigmas.length, 51);
    plan.timesteps.forEach((t, i) => close(plan.sigmas[i]!, reference[t]!));
    assert.equal(plan.sigmas.at(-1), 0);
    close(plan.initNoiseSigma, Math.sqrt(reference[981]! ** 2 + 1));
  });

  test('Euler, 50 steps, linspace (its default): fractional timesteps 999, 978.6122 ...; first sigma is sigma_max', () => {
    const plan = createScheduler(euler(), 50);
    close(plan.timesteps[0]!, 999, 1e-9);
    close(plan.timesteps[1]!, 999 - 999 / 49, 1e-6);
    assert.equal(plan.timesteps.at(-1), 0);
    const reference = referenceSigmas();
    // np.interp between the two neighbouring training sigmas.
    const t1 = plan.timesteps[1]!;
    const low = Math.floor(t1);
    close(plan.sigmas[1]!, reference[low]! + (t1 - low) * (reference[low + 1]! - reference[low]!));
    close(plan.sigmas[0]!, 14.6146, 1e-5);
    close(plan.initNoiseSigma, plan.sigmas[0]!, 1e-9);
  });

  test('trailing spacing: 999, 979 ... 19 (Euler and DDIM)', () => {
    for (const config of [euler({ timestep_spacing: 'trailing' }), ddim({ timestep_spacing: 'trailing' })]) {
      const steps = spacedTimesteps(config, 50);
      assert.deepEqual(steps.slice(0, 3), [999, 979, 959]);
      assert.equal(steps.at(-1), 19);
      assert.equal(steps.length, 50);
    }
  });

  test('DDIM: leading by default with integer timesteps; linspace rounds half to even like numpy', () => {
    assert.deepEqual(spacedTimesteps(ddim(), 4), [751, 501, 251, 1]);
    const linspace = spacedTimesteps(ddim({ timestep_spacing: 'linspace' }), 50);
    assert.deepEqual(linspace.slice(0, 4), [999, 979, 958, 938]);
    assert.ok(linspace.every(Number.isInteger));
    assert.equal(createScheduler(ddim(), 4).initNoiseSigma, 1);
  });

  test('Euler: with the true noise as model output, one step lands on x0 + sigma_next * noise (epsilon and v_prediction)', () => {
    const x0 = Float32Array.from([0.5, -1.25, 0.75, 2]);
    const noise = Float32Array.from([1.1, -0.3, 0.4, -2.2]);
    for (const prediction of ['epsilon', 'v_prediction']) {
      const plan = createScheduler(euler({ timestep_spacing: 'leading', prediction_type: prediction }), 10);
      const i = 3;
      const sigma = plan.sigmas[i]!;
      const next = plan.sigmas[i + 1]!;
      const sample = x0.map((x, k) => x + sigma * noise[k]!);
      let output = noise;
      if (prediction === 'v_prediction') {
        // v = sqrt(a) * eps - sqrt(1 - a) * x0 with a = 1 / (sigma² + 1).
        const a = 1 / (sigma * sigma + 1);
        output = noise.map((e, k) => Math.sqrt(a) * e - Math.sqrt(1 - a) * x0[k]!);
      }
      const out = plan.step(output, i, sample);
      out.forEach((v, k) => close(v, x0[k]! + next * noise[k]!, 1e-5));
      const scaled = plan.scaleModelInput(sample, i);
      scaled.forEach((v, k) => close(v, sample[k]! / Math.sqrt(sigma * sigma + 1), 1e-6));
    }
  });

  test('DDIM: with the true noise as model output, one step lands on sqrt(a_prev) x0 + sqrt(1 - a_prev) noise', () => {
    const x0 = Float32Array.from([0.5, -0.25, 0.75, 0.1]);
    const noise = Float32Array.from([1.1, -0.3, 0.4, -2.2]);
    for (const prediction of ['epsilon', 'v_prediction', 'sample']) {
      const config = ddim({ prediction_type: prediction });
      const cumprod = alphasCumprod(config);
      const plan = createScheduler(config, 10);
      const i = 2;
      const t = plan.timesteps[i]!;
      const prev = t - 100;
      const a = cumprod[t]!;
      const aPrev = cumprod[prev]!;
      const sample = x0.map((x, k) => Math.sqrt(a) * x + Math.sqrt(1 - a) * noise[k]!);
      const output =
        prediction === 'epsilon' ? noise : prediction === 'sample' ? x0 : noise.map((e, k) => Math.sqrt(a) * e - Math.sqrt(1 - a) * x0[k]!);
      const out = plan.step(output, i, sample);
      out.forEach((v, k) => close(v, Math.sqrt(aPrev) * x0[k]! + Math.sqrt(1 - aPrev) * noise[k]!, 1e-5));
    }
    // The last step goes to alphas_cumprod[0] when set_alpha_to_one is false, to 1 when true.
    const last = createScheduler(ddim({ set_alpha_to_one: true }), 10);
    const out = last.step(noise, 9, x0.map((x, k) => Math.sqrt(alphasCumprod(ddim())[1]!) * x + Math.sqrt(1 - alphasCumprod(ddim())[1]!) * noise[k]!));
    out.forEach((v, k) => close(v, x0[k]!, 1e-5));
  });

  test('DDIM clip_sample clamps the predicted x0 (its default is on)', () => {
    const plan = createScheduler(parseSchedulerConfig({ _class_name: 'DDIMScheduler' }), 10);
    const out = plan.step(Float32Array.from([0]), 0, Float32Array.from([100]));
    const cumprod = alphasCumprod(parseSchedulerConfig({ _class_name: 'DDIMScheduler' }));
    const t = plan.timesteps[0]!;
    // x0 = 100 / sqrt(a_t) clamps to 1; eps = 0.
    close(out[0]!, Math.sqrt(cumprod[t - 100]!) * 1, 1e-6);
  });

  test('config errors fail the load with a clear message; a class override swaps samplers', () => {
    const loadFailed = (err: unknown) => err instanceof ModelMoraError && err.code === 'MODEL_LOAD_FAILED';
    assert.throws(() => parseSchedulerConfig({ _class_name: 'PNDMScheduler', ...SD15 }), (err) => loadFailed(err) && /PNDMScheduler.*EulerDiscreteScheduler and DDIMScheduler/.test((err as Error).message));
    assert.equal(parseSchedulerConfig({ _class_name: 'PNDMScheduler', ...SD15 }, 'DDIMScheduler').className, 'DDIMScheduler');
    assert.throws(() => euler({ use_karras_sigmas: true }), loadFailed);
    assert.throws(() => euler({ beta_schedule: 'sigmoid' }), loadFailed);
    assert.throws(() => spacedTimesteps(euler(), 0), (err) => err instanceof ModelMoraError && err.code === 'INVALID_INPUT');
    // Defaults per class, as diffusers: Euler linspace, DDIM leading with clip_sample on.
    assert.equal(parseSchedulerConfig({ _class_name: 'EulerDiscreteScheduler' }).timestepSpacing, 'linspace');
    const d = parseSchedulerConfig({ _class_name: 'DDIMScheduler' });
    assert.equal(d.timestepSpacing, 'leading');
    assert.equal(d.clipSample, true);
  });
});
