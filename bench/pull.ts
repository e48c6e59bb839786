/**
 * Pull throughput from the loopback test hub against a plain fs.copyFile of the same bytes.
 * Run: npx tsc -p . && node dist/bench/pull.js [sizeMB=50] [runs=3]
 * What it shows: the overhead of HTTP + sha256 + fsync + rename over a bare local copy.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ModelRef } from '../src/domain/model-ref.js';
import { createSource } from '../src/hub/source.js';
import { ModelStore } from '../src/store/model-store.js';
import { startTestHub } from '../test/support/test-hub.js';

const sizeMb = Number(process.argv[2] ?? 50);
const runs = Number(process.argv[3] ?? 3);
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'modelmora-bench-'));
try {
  const folder = path.join(dir, 'fixture');
  await fs.mkdir(folder);
  const file = path.join(folder, 'model.onnx');
  await fs.writeFile(file, randomBytes(sizeMb * 1024 * 1024));
  const hub = await startTestHub({ repos: { 'bench/model': { folder } } });
  const ref = ModelRef.parse('bench/model');
  const rows: { what: string; ms: number; mbps: number }[] = [];
  const record = (what: string, ms: number) => rows.push({ what, ms: Math.round(ms), mbps: Math.round((sizeMb / ms) * 1000) });
  for (let i = 0; i < runs; i++) {
    const copy = path.join(dir, `copy-${i}`);
    let t = performance.now();
    await fs.copyFile(file, copy);
    record('fs.copyFile', performance.now() - t);

    t = performance.now();
    const response = await fetch(`${hub.url}/bench/model/resolve/main/model.onnx`);
    for await (const _ of response.body as unknown as AsyncIterable<Uint8Array>) void _;
    record('HTTP body only, discarded (same process as the hub)', performance.now() - t);

    t = performance.now();
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk);
    hash.digest();
    record('sha256 of the file from page cache', performance.now() - t);

    const store = new ModelStore(path.join(dir, `home-${i}`));
    const source = createSource(ref, { hubUrl: hub.url, baseDir: dir });
    const snapshot = await source.resolve('main');
    t = performance.now();
    for await (const _ of store.pull(ref, source, snapshot)) void _;
    record('pull from test hub (HTTP + sha256 + fsync + rename)', performance.now() - t);
    await fs.rm(path.join(dir, `home-${i}`), { recursive: true });
    await fs.rm(copy);
  }
  await hub.close();
  console.log(`${sizeMb} MB, ${runs} runs, node ${process.version}, ${os.cpus().length} cpus`);
  console.table(rows);
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}
