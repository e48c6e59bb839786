import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The package as a dependency sees it (`import ... from 'modelmora'`), and what each entry loads. */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../../bin/modelmora.js', import.meta.url));
const HOOK = `export async function resolve(s, c, n) { const r = await n(s, c); process.stderr.write('LOAD ' + r.url + '\\n'); return r; }`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)});`;
const HEAVY = /node_modules\/(ink|react|fastify|onnxruntime|@huggingface|@grpc|lowdb|pino|yaml|prom-client|cli-progress)\/|\/dist\/src\/(daemon\/daemon|scheduler|runtime|api|store\/(model-store|registry)|hub|project)/;

function node(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
}

function loads(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('LOAD ')).map((l) => l.slice(5));
}

test("import { ModelMoraClient } from 'modelmora' works by package name and loads no daemon, ink or onnxruntime", async () => {
  const script = `
    const m = await import('modelmora');
    const client = new m.ModelMoraClient({ baseUrl: 'http://127.0.0.1:1' });
    const err = new m.ModelMoraError('MODEL_NOT_FOUND', 'x');
    console.log(JSON.stringify({ client: typeof m.ModelMoraClient, grpc: typeof m.createGrpcClients, base: client.baseUrl, status: err.httpStatus, codes: m.ERROR_CODES.JOB_NOT_READY, tasks: m.TASK_TYPES }));
    await client.close();`;
  const res = await node(['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, '--input-type=module', '-e', script]);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout), {
    client: 'function',
    grpc: 'function',
    base: 'http://127.0.0.1:1',
    status: 404,
    codes: { http: 409, grpc: 9 },
    tasks: ['txt2embed', 'img2embed', 'txt2img', 'img2txt', 'txt2txt'],
  });
  const loaded = loads(res.stderr);
  assert.ok(loaded.some((u) => u.endsWith('/dist/src/index.js')), 'resolved through package.json exports');
  assert.ok(loaded.some((u) => u.includes('/node_modules/undici/')), 'the hook saw the imports');
  assert.deepEqual(loaded.filter((u) => HEAVY.test(u)), []);
});

test('modelmora ps loads the client but not ink, React, fastify or onnxruntime', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const res = await node(['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, BIN, 'ps', '--url', `http://127.0.0.1:${port}`]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /error: no daemon at http:\/\/127\.0\.0\.1:\d+; start one with `modelmora serve --detach`\n$/);
  const loaded = loads(res.stderr);
  assert.ok(loaded.some((u) => u.includes('/dist/src/client/client.js')));
  assert.deepEqual(loaded.filter((u) => HEAVY.test(u)), []);
});
