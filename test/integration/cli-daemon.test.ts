import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { cliWorld, type CliWorld } from '../support/cli-run.js';
import { FIXTURE_MODELS } from '../support/daemon-process.js';
import { testApp, type TestApp } from '../support/rest-app.js';

/**
 * The CLI as the daemon's client: a REAL daemon started with `serve --detach` in a temp home,
 * driven by `ps`, `load`, `infer`, `top`, `unload` and `stop`, each a separate CLI process.
 */

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('CLI daemon commands against a real detached daemon', () => {
  let w: CliWorld;
  let pid: number | undefined;

  before(async () => {
    w = await cliWorld();
    await w.write('modelmora.yaml', stringify({ models: [{ id: 'modelmora/x', task: 'txt2embed', source: path.join(FIXTURE_MODELS, 'glove-2k') }] }));
  });
  after(async () => {
    // Whatever happened above, no daemon outlives the test.
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    await w.cleanup();
  });

  it('serve --detach starts it in the background and says where it listens; a second one says it is running', async () => {
    const started = await w.run(['serve', '--detach', '--port', '0', '--grpc-port', '0']);
    assert.equal(started.code, 0, started.stderr);
    const record = JSON.parse(readFileSync(path.join(w.home, 'daemon.pid'), 'utf8')) as { pid: number; port: number };
    pid = record.pid;
    assert.ok(alive(pid));
    assert.match(started.stdout, new RegExp(`^ModelMora running in the background \\(pid ${pid}\\)\\n  REST  http://127\\.0\\.0\\.1:${record.port}/api/v1\\n`));
    assert.ok(existsSync(path.join(w.home, 'logs', 'daemon.log')));

    const again = await w.run(['serve', '--detach', '--port', '0', '--grpc-port', '0']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`^ModelMora is already running for this home \\(pid ${pid}\\) at http://127\\.0\\.0\\.1:${record.port}/api/v1, gRPC port \\d+\\n$`));
    const json = JSON.parse((await w.run(['serve', '--detach', '--json'])).stdout);
    assert.deepEqual({ pid: json.pid, already: json.already_running }, { pid, already: true });
  });

  it('ps is empty, load puts the model in memory, ps shows it', async () => {
    const empty = await w.run(['ps']);
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, 'NAME  STATE  MEMORY  DEVICE  LAST USED  UNTIL\n');
    assert.deepEqual(JSON.parse((await w.run(['ps', '--json'])).stdout), []);

    const load = await w.run(['load', 'modelmora/x']);
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, /^loaded modelmora\/x \(\d+ MB, cpu\) in \d+\.\ds\n$/);

    const ps = await w.run(['ps']);
    const [header, row, ...rest] = ps.stdout.trimEnd().split('\n');
    assert.equal(rest.length, 0);
    assert.match(header!, /^NAME\s+STATE\s+MEMORY\s+DEVICE\s+LAST USED\s+UNTIL$/);
    assert.match(row!, /^modelmora\/x\s+loaded\s+\d+ MB\s+cpu\s+(about a second|\d+ seconds) ago\s+\d+ minutes? from now$/);
    const [model] = JSON.parse((await w.run(['ps', '--json'])).stdout) as Array<{ model_id: string; state: string; memory_usage_mb: number }>;
    assert.equal(model!.model_id, 'modelmora/x');
    assert.equal(model!.state, 'loaded');
    assert.ok(model!.memory_usage_mb > 10, `runner RSS ${model!.memory_usage_mb} MB`);
  });

  it('infer prints a 100-d embedding, compact by default and whole with --json', async () => {
    const json = await w.run(['infer', 'modelmora/x', 'the', 'king', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const response = JSON.parse(json.stdout) as { model_id: string; output_data: { embedding: number[] }; metadata: { batch_size: number } };
    assert.equal(response.model_id, 'modelmora/x');
    assert.equal(response.output_data.embedding.length, 100);
    assert.ok(response.output_data.embedding.every(Number.isFinite));
    assert.ok(response.output_data.embedding.some((v) => v !== 0));
    const plain = await w.run(['infer', 'modelmora/x', 'the', 'king']);
    const first = response.output_data.embedding.slice(0, 6).map((v) => (v !== 0 && Math.abs(v) < 1e-4 ? v.toExponential(2) : v.toFixed(4)));
    assert.equal(plain.stdout, `[${first.join(', ')}, ...] (100 dims)\n`);
    const bad = await w.run(['infer', 'modelmora/x', 'x', '--param', 'oops']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, "error: --param expects key=value, got 'oops' (VALIDATION_ERROR)\n");
  });

  it('top, when stdout is not a terminal, prints one snapshot with the loaded model; status sums it up', async () => {
    const top = await w.run(['top', '--interval', '0.2']);
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /^ModelMora \S+ at http:\/\/127\.0\.0\.1:\d+  up [\dms ]+\n/);
    assert.match(top.stdout, /^Memory    [█░]{24}  \d+ MB of [\d.]+ GB budget$/m);
    assert.match(top.stdout, /^Queue     high 0  medium 0  low 0$/m);
    assert.match(top.stdout, /^Requests  0\.0\/s  \(2 since start\)$/m);
    assert.match(top.stdout, /^modelmora\/x\s+loaded\s+\d+ MB\s+[█░]{10} \d+%\s+0\.0\s+0\s+/m);
    assert.match(top.stdout, /\nRecent errors\nnone\n$/);
    const status = JSON.parse((await w.run(['status', '--json'])).stdout) as { loaded_models: unknown[]; queue_depth: Record<string, number> };
    assert.equal(status.loaded_models.length, 1);
    assert.deepEqual(status.queue_depth, { high_priority: 0, medium_priority: 0, low_priority: 0 });
  });

  it('top in a terminal draws the live ink view with the model, redraws, and quits on q', async () => {
    // util-linux `script` gives the CLI a pseudo-terminal of a known size; keys go in on its stdin.
    const cli = new URL('../../../bin/modelmora.js', import.meta.url).pathname;
    const child = spawn('script', ['-qfec', `stty cols 120 rows 30; ${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} top --interval 0.3`, '/dev/null'], {
      cwd: w.dir,
      // CI runners set CI=true, and ink then holds every frame back until exit; a user's terminal does not.
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MODELMORA_|HF_|CI$|CONTINUOUS_INTEGRATION$)/.test(k))), MODELMORA_HOME: w.home },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      const plain = () => screen.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '');
      const drawn = new Promise<void>((resolve) =>
        child.stdout!.on('data', (d: Buffer) => {
          screen += d.toString();
          // Two frames: the first sample and at least one refresh with a request rate.
          if (/Requests  \d+\.\d\/s/.test(plain()) && plain().includes('q to quit')) resolve();
        }),
      );
      await Promise.race([drawn, exited]);
      child.stdin!.write('q');
      assert.equal(await exited, 0, plain().slice(-2000));
      assert.match(plain(), /^modelmora\/x\s+loaded\s+\d+ MB\s+[█░]{10} \d+%/m);
      assert.match(plain(), /ModelMora \S+ at http:\/\/127\.0\.0\.1:\d+  up /);
    } finally {
      clearTimeout(killer);
    }
  });

  it('unload frees it; stop drains and ends the daemon, removing its pid file', async () => {
    const unload = await w.run(['unload', 'modelmora/x']);
    assert.equal(unload.code, 0, unload.stderr);
    assert.equal(unload.stdout, 'unloaded modelmora/x\n');
    assert.deepEqual(JSON.parse((await w.run(['ps', '--json'])).stdout), []);

    const stop = await w.run(['stop']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, `stopped the daemon (pid ${pid})\n`);
    assert.equal(alive(pid!), false);
    assert.equal(existsSync(path.join(w.home, 'daemon.pid')), false);
    assert.match(readFileSync(path.join(w.home, 'logs', 'daemon.log'), 'utf8'), /"msg":"modelmora stopped"/);
    const again = await w.run(['stop']);
    assert.deepEqual([again.code, again.stdout], [0, 'no daemon running\n']);
  });

  it('serve --detach explains a daemon that dies at start: exit 1, the log tail, nothing left running', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as { port: number };
    try {
      const res = await w.run(['serve', '--detach', '--port', String(port), '--grpc-port', '0']);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /^last lines of the daemon log:\n(  .*\n)+error: The daemon exited with code 1 before it was ready; see logs\/daemon\.log in the home \(SERVICE_UNAVAILABLE\)\n$/);
      assert.match(res.stderr, /EADDRINUSE|address already in use/i);
      assert.equal(existsSync(path.join(w.home, 'daemon.pid')), false);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  it('with no daemon, every daemon command exits 1 with one line naming the URL', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    for (const args of [['ps'], ['status'], ['load', 'a/b'], ['infer', 'a/b', 'hi'], ['jobs'], ['top']]) {
      const res = await w.run([...args, '--url', url]);
      assert.equal(res.code, 1, args.join(' '));
      assert.equal(res.stderr, `error: no daemon at ${url}; start one with \`modelmora serve --detach\`\n`, args.join(' '));
      assert.equal(res.stdout, '');
    }
    const fromEnv = await w.run(['ps'], { MODELMORA_URL: url });
    assert.equal(fromEnv.stderr, `error: no daemon at ${url}; start one with \`modelmora serve --detach\`\n`);
  });
});

describe('CLI jobs and infer --async (against the REST skin with stand-in job routes)', () => {
  const JOB = '123e4567-e89b-12d3-a456-426614174000';
  let w: CliWorld;
  let t: TestApp;
  let url: string;
  let cancelled = false;

  before(async () => {
    w = await cliWorld();
    t = await testApp();
    await t.registry.register({ model_id: 'org/embed', task_type: 'txt2embed' });
    // Stand-in job routes; every route declares its access level (auth is off in this app).
    const open = { config: { access: 'inference' as const } };
    const view = () => ({ job_id: JOB, model_id: 'org/embed', status: cancelled ? 'cancelled' : 'queued', progress: 0, priority: 'low', created_at: new Date(Date.now() - 5000).toISOString() });
    t.app.post('/api/v1/infer/:model_id/async', open, async (_r, reply) => reply.code(202).send({ job_id: JOB, status: 'queued', created_at: new Date().toISOString(), status_url: `/api/v1/jobs/${JOB}` }));
    t.app.get('/api/v1/jobs', open, async () => ({ data: [view()] }));
    t.app.get('/api/v1/jobs/:id', open, async () => view());
    t.app.get('/api/v1/jobs/:id/result', open, async (_r, reply) => reply.code(409).send({ error_code: 'JOB_NOT_READY', message: `Job ${JOB} is queued`, status: 'queued' }));
    t.app.delete('/api/v1/jobs/:id', open, async () => {
      cancelled = true;
      return { job_id: JOB, status: 'cancelled' };
    });
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await t.close();
    await w.cleanup();
  });

  it('infer --async prints the job id; jobs ls, get, result and cancel render what the daemon says', async () => {
    const submitted = await w.run(['infer', 'org/embed', 'later', '--async', '--priority', 'low', '--url', url]);
    assert.deepEqual([submitted.code, submitted.stdout], [0, `${JOB}\n`]);
    const ls = await w.run(['jobs', '--url', url]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(`^JOB\\s+MODEL\\s+STATUS\\s+PROGRESS\\s+PRIORITY\\s+CREATED\\n${JOB}\\s+org/embed\\s+queued\\s+0%\\s+low\\s+5 seconds ago\\n$`));
    const get = await w.run(['jobs', 'get', JOB, '--url', url]);
    assert.match(get.stdout, new RegExp(`^job         ${JOB}\\nmodel       org/embed\\nstatus      queued\\n`));
    const result = await w.run(['jobs', 'result', JOB, '--url', url]);
    assert.deepEqual([result.code, result.stderr], [1, `error: Job ${JOB} is queued (JOB_NOT_READY)\n`]);
    const cancel = await w.run(['jobs', 'cancel', JOB, '--url', url, '--json']);
    assert.deepEqual(JSON.parse(cancel.stdout), { job_id: JOB, status: 'cancelled' });
    assert.match((await w.run(['jobs', 'ls', '--status', 'cancelled', '--url', url])).stdout, /cancelled/);
    const badStatus = await w.run(['jobs', 'ls', '--status', 'done', '--url', url]);
    assert.equal(badStatus.code, 1);
    assert.match(badStatus.stderr, /^error: --status must be one of queued, processing, completed, failed, cancelled \(VALIDATION_ERROR\)\n$/);
  });
});
