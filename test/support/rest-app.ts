import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/api/rest/app.js';
import type { ServicePorts } from '../../src/services/services.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type { Services } from '../../src/services/services.js';
import { Registry } from '../../src/store/registry.js';
import { FakeEngine } from './fake-engine.js';
import { testServices } from './services.js';

export { TEST_LOCK } from './services.js';

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  registry: Registry;
  engine: FakeEngine;
  metrics: Metrics;
  home: string;
  /** Model ids the fake download was asked for, in order. */
  downloaded: string[];
  /** Set to make the next downloads fail with this error, or hang until their signal aborts. */
  download: { fail?: Error; hang?: boolean };
  drain: DrainSwitch;
  close(): Promise<void>;
}

export interface TestAppOptions extends Partial<Omit<AppDeps, 'services' | 'config'>> {
  engine?: FakeEngine;
  jobs?: ServicePorts['jobs'];
  removeFiles?: (modelId: string) => Promise<void>;
}

/** Draining the test turns on and off (a daemon only ever turns it on). */
export interface DrainSwitch {
  on: boolean;
}

/** A REST app over a real registry in a temp folder, a FakeEngine and a fake download. */
export async function testApp(options: TestAppOptions = {}): Promise<TestApp> {
  const { engine = new FakeEngine(), jobs, removeFiles, ...skin } = options;
  const home = await mkdtemp(path.join(os.tmpdir(), 'modelmora-rest-'));
  const registry = await Registry.open({ home });
  const metrics = new Metrics();
  const downloaded: string[] = [];
  const download: TestApp['download'] = {};
  const drain: DrainSwitch = { on: false };
  const services = testServices({
    draining: () => drain.on,
    registry,
    engine,
    metrics,
    jobs,
    removeFiles,
    download: async (modelId, signal) => {
      downloaded.push(modelId);
      if (download.hang) {
        await new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      }
      if (download.fail) throw download.fail;
    },
    version: '0.1.0-test',
    startedAt: new Date('2025-01-01T00:00:00Z'),
    now: () => new Date('2025-01-01T00:01:40.600Z'),
    systemMemory: () => ({ total_mb: 16000, free_mb: 3000 }),
  });
  const app = await buildApp({
    services,
    config: { body_limit_mb: 1, image_body_limit_mb: 4, max_json_depth: 32 },
    docs: true,
    ...skin,
  });
  return {
    app,
    services,
    registry,
    engine,
    metrics,
    home,
    downloaded,
    download,
    drain,
    async close() {
      await app.close();
      await services.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
