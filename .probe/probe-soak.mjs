import { startDaemon, FIXTURE_MODELS } from '/work/wt/limits/dist/test/support/daemon-process.js';
import { Agent, request } from 'undici';
import { readFileSync } from 'node:fs';
const rss = (pid) => Math.round(Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024);
const d = await startDaemon({ models: [{ id: 'soak/glove', task: 'txt2embed', source: `${FIXTURE_MODELS}glove-2k`, config: { max_queue_size: 64 } }], env: { NODE_OPTIONS: process.env.NO ?? '' } });
const url = `${d.api}/infer/soak/glove`;
async function load(total, conc) {
  const dispatcher = new Agent({ connections: conc }); let next = 0; const by = {};
  await Promise.all(Array.from({ length: conc }, async () => { while (next < total) { const i = next++; const r = await request(url, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input_data: { text: `soak ${i} the stock market` } }) }); await r.body.text(); by[r.statusCode] = (by[r.statusCode] ?? 0) + 1; } }));
  await dispatcher.close(); return by;
}
console.log('start', rss(d.pid));
console.log(await load(512, 256), 'after warm', rss(d.pid));
await new Promise(r => setTimeout(r, 1000)); console.log('settled', rss(d.pid));
for (let k = 0; k < 4; k++) { console.log(await load(5000, 256), 'after load', k, rss(d.pid)); await new Promise(r => setTimeout(r, 3000)); console.log('settled', rss(d.pid)); }
await d.stop();
