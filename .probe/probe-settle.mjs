import { startDaemon, FIXTURE_MODELS } from '/work/wt/limits/dist/test/support/daemon-process.js';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
const rss = (pid) => Math.round(Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024);
const d = await startDaemon({ models: [{ id: 'soak/glove', task: 'txt2embed', source: `${FIXTURE_MODELS}glove-2k`, config: { max_queue_size: 64 } }], env: process.env.NO ? { NODE_OPTIONS: process.env.NO } : {} });
const url = `${d.api}/infer/soak/glove`;
const load = (total, conc, rep = 1) => new Promise((res) => execFile(process.execPath, ['/work/wt/limits/.probe/loader.mjs', url, String(total), String(conc), String(rep)], (e, out) => res(out.trim())));
console.log(await load(Number(process.argv[2] ?? 512), 256, Number(process.argv[3] ?? 1)), 'warm', rss(d.pid));
await new Promise(r => setTimeout(r, 2000)); console.log('base', rss(d.pid));
console.log(await load(5000, 256), 'after load', rss(d.pid));
const series = [];
for (let s = 0; s < 30; s++) { await new Promise(r => setTimeout(r, 1000)); series.push(rss(d.pid)); }
console.log(series.join(' '));
await d.stop();
