import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type ApiLockFile, type AppDeps, type Readiness } from '../../src/api/rest/app.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { Registry } from '../../src/store/registry.js';
import { FakeEngine } from './fake-engine.js';

export interface TestApp {
  app: FastifyInstance;
  registry: Registry;
  engine: FakeEngine;
  metrics: Metrics;
  home: string;
  /** Model ids the fake download was asked for, in order. */
  downloaded: string[];
  /** Set to make the next downloads fail with this error, or hang until their signal aborts. */
  download: { fail?: Error; hang?: boolean };
  readiness: Readiness;
  close(): Promise<void>;
}

export const TEST_LOCK: ApiLockFile = {
  version: '1.0',
  generated_at: '2025-01-02T03:04:05.000Z',
  models: [{ model_id: 'org/embed', version: 'main', checksum: 'sha256:abc', task_type: 'txt2embed', source_url: 'https://huggingface.co/org/embed' }],
};

/** A REST app over a real registry in a temp folder, a FakeEngine and a fake download. */
export async function testApp(overrides: Partial<AppDeps> = {}): Promise<TestApp> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'modelmora-rest-'));
  const registry = await Registry.open({ home });
  const engine = new FakeEngine();
  const metrics = new Metrics();
  const downloaded: string[] = [];
  const download: TestApp['download'] = {};
  const readiness: Readiness = { ready: true, checks: { database: true, queue: true } };
  const app = await buildApp({
    config: { body_limit_mb: 1, image_body_limit_mb: 4, max_inputs: 8, max_text_chars: 100, max_image_pixels: 1_000_000, default_timeout_seconds: 60, max_json_depth: 32 },
    registry,
    engine,
    metrics,
    download: async (modelId, signal) => {
      downloaded.push(modelId);
      if (download.hang) {
        await new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      }
      if (download.fail) throw download.fail;
    },
    lockFile: async () => TEST_LOCK,
    readiness: () => structuredClone(readiness),
    version: '0.1.0-test',
    startedAt: new Date('2025-01-01T00:00:00Z'),
    now: () => new Date('2025-01-01T00:01:40.600Z'),
    systemMemory: () => ({ total_mb: 16000, free_mb: 3000 }),
    docs: true,
    ...overrides,
  });
  return {
    app,
    registry,
    engine,
    metrics,
    home,
    downloaded,
    download,
    readiness,
    async close() {
      await app.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
