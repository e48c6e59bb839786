import { Agent, request } from 'undici';
const [url, total, conc] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const dispatcher = new Agent({ connections: conc }); let next = 0; const by = {};
await Promise.all(Array.from({ length: conc }, async () => { while (next < total) { const i = next++; const r = await request(url, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input_data: { text: `soak ${i} the stock market`.repeat(Number(process.argv[5] ?? 1)) } }) }); await r.body.text(); by[r.statusCode] = (by[r.statusCode] ?? 0) + 1; } }));
await dispatcher.close(); console.log(JSON.stringify(by));
