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
