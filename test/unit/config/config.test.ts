import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeConfig, resolveConfig } from '../../../src/config/config.js';
import { parseDuration } from '../../../src/config/duration.js';
import { ModelMoraError } from '../../../src/domain/errors.js';

test('flags beat env, env beats yaml, yaml beats defaults', () => {
  const env = { MODELMORA_PORT: '9001', MODELMORA_MAX_BATCH_SIZE: '8' };
  const yaml = { port: 9002, max_batch_size: 4, max_queue_size: 10 };
  const config = resolveConfig({ flags: { port: '9000' }, env, yaml });
  assert.equal(config.port, 9000);
  assert.equal(config.max_batch_size, 8);
  assert.equal(config.max_queue_size, 10);
  assert.equal(config.host, '127.0.0.1');
  assert.ok(Object.isFrozen(config));
});

test('HF_ENDPOINT sets hub_url and tokens are masked in the log form', () => {
  const config = resolveConfig({ env: { HF_ENDPOINT: 'http://127.0.0.1:1234', HF_TOKEN: 'hf_secret' } });
  assert.equal(config.hub_url, 'http://127.0.0.1:1234');
  assert.equal(describeConfig(config).hf_token, '***');
});

test('a bad value names the setting and where it came from', () => {
  assert.throws(
    () => resolveConfig({ env: { MODELMORA_PORT: 'eighty' } }),
    (err: unknown) => err instanceof ModelMoraError && /port.*MODELMORA_PORT/.test(err.message),
  );
  assert.throws(() => resolveConfig({ env: {}, yaml: { prot: 1 } }), /server\.prot is not a known setting/);
});

test('durations: Ollama keep_alive forms', () => {
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration(-1), -1);
  assert.equal(parseDuration('-1'), -1);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration(30), 30_000);
  assert.throws(() => parseDuration('5 minutes'));
});

test('out-of-range values are refused, naming the setting, its source and the bound', () => {
  const cases: Array<[string, { flags?: Record<string, unknown>; env?: Record<string, string>; yaml?: Record<string, unknown> }, RegExp]> = [
    ['port above 65535 (env)', { env: { MODELMORA_PORT: '70000' } }, /Setting port \(from env MODELMORA_PORT\): 70000 is above the maximum 65535/],
    ['grpc_port negative (yaml)', { env: {}, yaml: { grpc_port: -1 } }, /Setting grpc_port \(from server\.grpc_port\): -1 is below the minimum 0/],
    ['zero memory budget (flag)', { env: {}, flags: { memory_budget_mb: '0' } }, /Setting memory_budget_mb \(from flag memory_budget_mb\): 0 is below the minimum 1/],
    ['zero batch size', { env: { MODELMORA_MAX_BATCH_SIZE: '0' } }, /max_batch_size .*below the minimum 1/],
    ['timeout above 600', { env: {}, yaml: { default_timeout_seconds: 601 } }, /default_timeout_seconds .*above the maximum 600/],
    ['zero drain timeout', { env: { MODELMORA_DRAIN_TIMEOUT_SECONDS: '0' } }, /drain_timeout_seconds .*below the minimum 1/],
    ['negative unbounded number', { env: { MODELMORA_MAX_DELAY_MS: '-5' } }, /max_delay_ms .*below the minimum 0/],
    ['a zero message limit', { env: { MODELMORA_GRPC_MAX_MESSAGE_MB: '0' } }, /grpc_max_message_mb .*below the minimum 0\.01/],
    ['a zero body limit (yaml)', { env: {}, yaml: { body_limit_mb: 0 } }, /body_limit_mb .*below the minimum 0\.01/],
  ];
  for (const [name, sources, expected] of cases) {
    assert.throws(
      () => resolveConfig(sources),
      (err: unknown) => err instanceof ModelMoraError && err.code === 'VALIDATION_ERROR' && expected.test(err.message),
      name,
    );
  }
});

test('values on the bounds are accepted', () => {
  const config = resolveConfig({ env: { MODELMORA_PORT: '65535', MODELMORA_GRPC_PORT: '0', MODELMORA_DEFAULT_TIMEOUT_SECONDS: '600', MODELMORA_MAX_BATCH_SIZE: '1' } });
  assert.deepEqual([config.port, config.grpc_port, config.default_timeout_seconds, config.max_batch_size], [65535, 0, 600, 1]);
});
