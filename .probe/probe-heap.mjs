import { startDaemon } from '/work/wt/limits/dist/src/daemon/daemon.js';
import { Agent, request } from 'undici';
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path'; import { Writable } from 'node:stream';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heap-'));
fs.writeFileSync(path.join(dir, 'modelmora.yaml'), `models:\n  - id: soak/glove\n    task: txt2embed\n    source: /work/wt/limits/test/fixtures/models/glove-2k\n    config:\n      max_queue_size: 64\nserver:\n  port: 0\n  grpc_port: 0\n`);
const d = await startDaemon({ configPath: path.join(dir, 'modelmora.yaml'), env: { MODELMORA_HOME: path.join(dir, 'home') }, logDestination: new Writable({ write(c, e, cb) { cb(); } }) });
const url = `${d.url}/api/v1/infer/soak/glove`;
import { execFileSync } from 'node:child_process';
async function load(total, conc) { return new Promise((res) => { import('node:child_process').then(cp => cp.execFile(process.execPath, ['/work/wt/limits/.probe/loader.mjs', url, String(total), String(conc)], (e, out) => res(out.trim()))); }); }
async function loadOld(total, conc) {
  const dispatcher = new Agent({ connections: conc }); let next = 0; const by = {};
  await Promise.all(Array.from({ length: conc }, async () => { while (next < total) { const i = next++; const r = await request(url, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input_data: { text: `soak ${i} the stock market` } }) }); await r.body.text(); by[r.statusCode] = (by[r.statusCode] ?? 0) + 1; } }));
  await dispatcher.close(); return by;
}
import inspector from 'node:inspector'; const session = new inspector.Session(); session.connect();
const lowmem = () => new Promise(r => session.post('HeapProfiler.collectGarbage', r));
const mem = () => { const m = process.memoryUsage(); return `rss ${Math.round(m.rss/1048576)} heapUsed ${Math.round(m.heapUsed/1048576)} heapTotal ${Math.round(m.heapTotal/1048576)} ext ${Math.round(m.external/1048576)} ab ${Math.round(m.arrayBuffers/1048576)}`; };
await load(512, 256); console.log('warm', mem()); await lowmem(); console.log('warm lowmem', mem());
for (let k = 0; k < 4; k++) { console.log(await load(5000, 256)); await new Promise(r => setTimeout(r, 1000)); console.log('after', k, mem()); await lowmem(); console.log('after lowmem', k, mem()); }
await d.stop();
