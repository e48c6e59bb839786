import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { DEMO_MODEL, FIXTURE_MODELS, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { call, longText, waitFor } from '../support/daemon-http.js';
import { removeDir } from '../support/fixtures.js';

// Load and crash tests on real daemons. The soak: 5,000 requests at concurrency 256 against a
// model whose queue holds 64; every answer must be a result, a 429 (queue full) or a 503, and
// the daemon's RSS must come back to within 10% of its baseline. Then kill -9 with 50 accepted
// jobs: all 50 complete after a restart.

const daemons: DaemonProcess[] = [];
after(async () => {
  for (const d of daemons) {
    if (d.child.exitCode === null && d.child.signalCode === null) await d.stop();
    await removeDir(path.dirname(d.home));
  }
});

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error('no VmRSS');
  return Number(match[1]);
}

interface Tally {
  byStatus: Map<number, number>;
  bad: string[];
  transportErrors: number;
}

/** `total` requests over `concurrency` connections; each answer is checked, not just counted. */
async function load(url: string, total: number, concurrency: number): Promise<Tally> {
  const dispatcher = new Agent({ connections: concurrency, pipelining: 1 });
  const tally: Tally = { byStatus: new Map(), bad: [], transportErrors: 0 };
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      try {
        const res = await request(url, {
          method: 'POST',
          dispatcher,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ input_data: { text: `soak request ${i} ${longText(40, i)}` } }),
        });
        const body = (await res.body.json()) as Record<string, unknown>;
        tally.byStatus.set(res.statusCode, (tally.byStatus.get(res.statusCode) ?? 0) + 1);
        const ok =
          (res.statusCode === 200 && Array.isArray((body['output_data'] as { embedding?: unknown })?.embedding)) ||
          (res.statusCode === 429 && body['error_code'] === 'RATE_LIMIT_EXCEEDED' && res.headers['retry-after'] !== undefined) ||
          (res.statusCode === 503 && body['error_code'] === 'SERVICE_UNAVAILABLE');
        if (!ok && tally.bad.length < 20) tally.bad.push(`${res.statusCode} ${JSON.stringify(body).slice(0, 200)}`);
      } catch {
        tally.transportErrors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await dispatcher.close();
  return tally;
}

describe('soak: 5,000 requests at concurrency 256 against a queue of 64', () => {
  test('every answer is a result, a 429 or a 503, and RSS returns within 10% of its baseline', async () => {
    const MODEL = 'soak/glove';
    // The release after 2 s idle (the default waits 30 s), so the test need not wait that long.
    const daemon = await startDaemon({
      models: [{ id: MODEL, task: 'txt2embed', source: `${FIXTURE_MODELS}glove-2k`, config: { max_queue_size: 64 } }],
      server: { idle_memory_release_ms: 2000 },
    });
    daemons.push(daemon);
    const url = `${daemon.api}/infer/${MODEL}`;

    // Baseline after a warm-up of the same shape (512 requests at concurrency 256): the model
    // loaded, its runner connected, the request and 429 paths JIT-compiled, pools and buffers
    // that any busy daemon holds allocated. Without it the baseline would be a daemon that never
    // served, and the comparison would measure first-use allocations rather than what a load
    // leaves behind. The settle after it (longer than idle_memory_release_ms, 2 s) lets the
    // daemon give back the heap the warm-up grew, as it will after the load.
    const warm = await load(url, 512, 256);
    assert.deepEqual(warm.bad, []);
    assert.ok((warm.byStatus.get(200) ?? 0) > 0, 'the warm-up got results');
    await sleep(3000);
    const before = await rssKb(daemon.pid);

    let peak = before;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await rssKb(daemon.pid));
        await sleep(50);
      }
    })();
    const tally = await load(url, 5000, 256);
    sampling = false;
    await sampler;

    const answered = [...tally.byStatus.values()].reduce((a, b) => a + b, 0);
    assert.equal(tally.transportErrors, 0, 'no connection failed');
    assert.equal(answered, 5000);
    assert.deepEqual(tally.bad, [], 'every answer is a result, a 429 or a 503');
    assert.deepEqual([...tally.byStatus.keys()].filter((s) => ![200, 429, 503].includes(s)), []);
    assert.ok((tally.byStatus.get(200) ?? 0) > 0, 'some requests got results');
    assert.ok((tally.byStatus.get(429) ?? 0) > 0, 'the queue of 64 filled up: some requests got 429');

    // Settle: bounded wait for the RSS to come back (the daemon releases heap after 2 s idle).
    let afterKb = await rssKb(daemon.pid);
    for (let i = 0; i < 80 && afterKb > before * 1.1; i++) {
      await sleep(250);
      afterKb = await rssKb(daemon.pid);
    }
    console.log(
      `soak: 5000 requests, answers ${JSON.stringify(Object.fromEntries([...tally.byStatus].sort()))}, ` +
        `daemon RSS before ${Math.round(before / 1024)} MB, peak ${Math.round(peak / 1024)} MB, after ${Math.round(afterKb / 1024)} MB`,
    );
    assert.ok(afterKb <= before * 1.1, `RSS after ${afterKb} kB is more than 10% above the baseline ${before} kB (peak ${peak} kB)`);
    const live = await call(daemon.api, 'GET', '/health/live');
    assert.equal(live.status, 200);
  });
});

describe('kill -9 with 50 accepted jobs', () => {
  test('all 50 complete after a restart, none lost, none twice', async () => {
    const MODEL = 'jobs/demo';
    const flags = ['--max-batch-size', '1', '--job-concurrency', '1', '--priority-aging-ms', '0', '--body-limit-mb', '8', '--max-inputs', '256', '--runner-threads', '1'];
    const models = [{ id: MODEL, task: 'txt2embed', source: DEMO_MODEL }];
    const first = await startDaemon({ models, args: flags });
    daemons.push(first);
    // A slow job holds the runner so the 50 wait in the job queue when the daemon dies.
    const slow = await call<{ job_id: string }>(first.api, 'POST', `/infer/${MODEL}/async`, {
      input_data: { text: Array.from({ length: 256 }, (_, i) => longText(16_000, i)) },
      priority: 'high',
    });
    assert.equal(slow.status, 202, slow.text);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await call<{ job_id: string; status: string }>(first.api, 'POST', `/infer/${MODEL}/async`, { input_data: { text: `accepted job ${i}` } });
      assert.equal(r.status, 202, r.text);
      ids.push(r.body.job_id);
    }
    const unfinished = (await call<{ data: Array<{ status: string }> }>(first.api, 'GET', '/jobs?limit=1000')).body.data.filter((j) => j.status !== 'completed');
    assert.ok(unfinished.length >= 45, `most jobs were still waiting at the kill (${unfinished.length})`);
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');

    const second = await startDaemon({ models, args: flags, home: first.home, dir: first.dir });
    daemons.push(second);
    const all = [slow.body.job_id, ...ids];
    await waitFor(
      'every job to complete',
      async () => {
        const listed = (await call<{ data: Array<{ job_id: string; status: string }> }>(second.api, 'GET', '/jobs?limit=1000')).body.data;
        return all.every((id) => listed.find((j) => j.job_id === id)?.status === 'completed') ? listed : undefined;
      },
      1200,
      100,
    );
    const listed = (await call<{ data: Array<{ job_id: string }> }>(second.api, 'GET', '/jobs?limit=1000')).body.data;
    assert.equal(listed.length, 51, 'none lost, none duplicated');
    for (const [i, id] of ids.entries()) {
      const result = await call<{ output_data: { embedding: number[] } }>(second.api, 'GET', `/jobs/${id}/result`);
      assert.equal(result.status, 200, result.text);
      const sync = await call<{ output_data: { embedding: number[] } }>(second.api, 'POST', `/infer/${MODEL}`, { input_data: { text: `accepted job ${i}` } });
      assert.deepEqual(result.body.output_data.embedding, sync.body.output_data.embedding, `job ${i} computed its own input`);
    }
  });
});
