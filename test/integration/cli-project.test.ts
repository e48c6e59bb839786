import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseLock } from '../../src/project/lockfile.js';
import { cliWorld, type CliWorld } from '../support/cli-run.js';

/**
 * The package-manager verbs end to end through the real binary, on a local-folder source
 * (no network): init, add, lock, pull --frozen, ls, verify, rm, and the error paths.
 * The tests share one project and run in order.
 */

const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const WEIGHTS = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31 + 7) % 251));
const CONFIG = '{"model_type":"bert"}\n';

let w: CliWorld;
before(async () => {
  w = await cliWorld();
  await w.write('models/tiny/config.json', CONFIG);
  await w.write('models/tiny/onnx/model.onnx', WEIGHTS);
  await w.write('models/tiny/.git/HEAD', 'ref: refs/heads/main\n');
});
after(() => w.cleanup());

test('init writes a commented yaml and refuses to overwrite it', async () => {
  const first = await w.run(['init']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(await w.read('modelmora.yaml'), /^# modelmora\.yaml: the models this project serves\./);
  const again = await w.run(['init']);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, 'error: modelmora.yaml already exists; not overwriting it (VALIDATION_ERROR)\n');
});

test('add, lock, pull --frozen, ls and verify on a local folder', async () => {
  const add = await w.run(['add', 'local/tiny', '--task', 'txt2embed', '--source', './models/tiny']);
  assert.equal(add.code, 0, add.stderr);
  // Piped stdout: one plain line per fetched file.
  assert.match(add.stdout, /^pulled local\/tiny onnx\/model\.onnx 70\.0 kB$/m);
  assert.match(add.stdout, /^pulled local\/tiny config\.json 22 B$/m);
  const yaml = await w.read('modelmora.yaml');
  assert.match(yaml, /models:\n  - id: local\/tiny\n    task: txt2embed\n    source: \.\/models\/tiny\n/);
  assert.match(yaml, /# Settings of `modelmora serve`/, 'the template comments survive the edit');

  const lockText = await w.read('modelmora.lock');
  const lock = parseLock(lockText);
  assert.deepEqual(lock.models[0]?.files, [
    { path: 'config.json', size: CONFIG.length, sha256: sha(CONFIG) },
    { path: 'onnx/model.onnx', size: WEIGHTS.length, sha256: sha(WEIGHTS) },
  ]);
  assert.equal(lock.models[0]?.source_url, './models/tiny');

  const relock = await w.run(['lock']);
  assert.equal(relock.code, 0, relock.stderr);
  assert.match(relock.stdout, /modelmora\.lock is up to date/);
  assert.equal(await w.read('modelmora.lock'), lockText);

  const cached = await fs.readFile(path.join(w.home, 'cache', 'models--local--tiny', 'snapshots', lock.models[0]!.commit, 'onnx', 'model.onnx'));
  assert.equal(sha(cached), sha(WEIGHTS));

  const frozen = await w.run(['pull', '--frozen']);
  assert.equal(frozen.code, 0, frozen.stderr);
  assert.match(frozen.stdout, /local\/tiny: up to date \(2 files, 70\.0 kB\)/);

  const ls = await w.run(['ls', '--json']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(JSON.parse(ls.stdout), [
    { model_id: 'local/tiny', task_type: 'txt2embed', revision: 'main', commit: lock.models[0]!.commit, cached: true, size_bytes: WEIGHTS.length + CONFIG.length, files: 2 },
  ]);
  const table = await w.run(['ls']);
  assert.match(table.stdout, new RegExp(`^local/tiny\\s+txt2embed\\s+main\\s+${lock.models[0]!.commit.slice(0, 7)}\\s+yes\\s+70\\.0 kB$`, 'm'));

  const verify = await w.run(['verify']);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stdout, /local\/tiny: 2 ok, 0 bad/);
});

test('verify finds a flipped byte, quarantines it, and pull restores it', async () => {
  const lock = parseLock(await w.read('modelmora.lock'));
  const blob = path.join(w.home, 'cache', 'models--local--tiny', 'blobs', sha(WEIGHTS));
  const bytes = await fs.readFile(blob);
  bytes[1234] = bytes[1234]! ^ 0xff;
  await fs.chmod(blob, 0o644);
  await fs.writeFile(blob, bytes);

  const verify = await w.run(['verify']);
  assert.equal(verify.code, 1);
  assert.match(verify.stdout, /^bad local\/tiny onnx\/model\.onnx: sha256 mismatch$/m);
  assert.equal(verify.stderr, 'error: 1 file failed verification and was quarantined; run modelmora pull to fetch it again (CHECKSUM_MISMATCH)\n');
  await assert.rejects(fs.stat(blob), 'the bad blob left the cache');
  const quarantined = await fs.readdir(path.join(w.home, 'quarantine', 'models--local--tiny'));
  assert.equal(quarantined.length, 1);

  const pull = await w.run(['pull', '--frozen']);
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, /local\/tiny: pulled 1 of 2 files \(70\.0 kB\)/);
  const snap = path.join(w.home, 'cache', 'models--local--tiny', 'snapshots', lock.models[0]!.commit, 'onnx', 'model.onnx');
  assert.equal(sha(await fs.readFile(snap)), sha(WEIGHTS));
});

test('pull --frozen refuses a yaml the lock lacks, and a source that changed', async () => {
  const yaml = await w.read('modelmora.yaml');
  const lockText = await w.read('modelmora.lock');
  await w.write('modelmora.yaml', yaml.replace('models:\n', 'models:\n  - id: local/other\n    task: txt2txt\n    source: ./models/tiny\n'));
  const missing = await w.run(['pull', '--frozen']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'error: modelmora.lock is out of date: local/other: in modelmora.yaml but not in modelmora.lock; run modelmora lock (LOCK_MISMATCH)\n');
  assert.equal(await w.read('modelmora.lock'), lockText, 'frozen never writes the lock');
  await w.write('modelmora.yaml', yaml);

  // A changed folder is only noticed when something must be fetched: use an empty home.
  const emptyHome = path.join(w.home, '..', 'home-empty');
  await w.write('models/tiny/config.json', '{"model_type":"gpt2"}\n');
  const changed = await w.run(['pull', '--frozen'], { MODELMORA_HOME: emptyHome });
  assert.equal(changed.code, 1);
  assert.match(changed.stderr, /^error: local\/tiny: config\.json has sha256 [0-9a-f]{12}\.\.\. at the source but [0-9a-f]{12}\.\.\. in the lock \(LOCK_MISMATCH\)\n$/);
  await assert.rejects(fs.stat(path.join(emptyHome, 'cache', 'models--local--tiny', 'blobs')), 'nothing fetched');
  await w.write('models/tiny/config.json', CONFIG);
});

test('bad ids and bad flags write nothing', async () => {
  const yaml = await w.read('modelmora.yaml');
  const lockText = await w.read('modelmora.lock');
  for (const id of ['../../etc/passwd', 'x--y', 'org/name/extra', 'a\u00e9/b', 'org/x.git', '..']) {
    const res = await w.run(['add', id, '--task', 'txt2embed']);
    assert.equal(res.code, 1, id);
    assert.match(res.stderr, /^error: Invalid model id '.*': expected 'org\/name' with letters, digits, '\.', '_' or '-' \(INVALID_MODEL_ID\)\n$/, id);
  }
  const rm = await w.run(['rm', '../x']);
  assert.match(rm.stderr, /\(INVALID_MODEL_ID\)/);
  const task = await w.run(['add', 'org/new', '--task', 'embed']);
  assert.equal(task.code, 1);
  assert.equal(task.stderr, 'error: modelmora.yaml: models[1] (org/new): task must be one of txt2embed, img2embed, txt2img, img2txt, txt2txt (INVALID_TASK_TYPE)\n');
  const noTask = await w.run(['add', 'org/new']);
  assert.match(noTask.stderr, /^error: --task is required to add org\/new/);
  const dup = await w.run(['add', 'local/tiny', '--task', 'txt2embed']);
  assert.equal(dup.stderr, 'error: local/tiny is already in modelmora.yaml (pass --task, --revision, --source or --files to change it) (MODEL_ALREADY_EXISTS)\n');
  const usage = await w.run(['add', 'org/new', '--tsak', 'txt2embed']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^error: unknown option '--tsak'/);
  const missingSource = await w.run(['add', 'org/new', '--task', 'txt2embed', '--source', './nowhere']);
  assert.equal(missingSource.code, 1);
  assert.match(missingSource.stderr, /^error: Local source folder '\.\/nowhere' does not exist/);
  assert.equal(await w.read('modelmora.yaml'), yaml);
  assert.equal(await w.read('modelmora.lock'), lockText);
});

test('manifest errors name the field and the model', async () => {
  const good = await w.read('modelmora.yaml');
  await w.write('modelmora.yaml', 'models:\n  - id: org/a\n    task: txt2embed\n    keep_alive: soon\n  - id: org/b\n    task: txt2txt\n    resources: {memory_mb: lots}\n');
  const res = await w.run(['ls']);
  assert.equal(res.code, 1);
  assert.equal(
    res.stderr,
    "error: modelmora.yaml: models[0] (org/a): keep_alive: 'soon' is not a duration (try 30s, 5m, 1h or -1); models[1] (org/b): resources.memory_mb must be a whole number >= 0 (VALIDATION_ERROR)\n",
  );
  await w.write('modelmora.yaml', good);
});

test('rm --purge removes the model from yaml, lock and cache', async () => {
  const res = await w.run(['rm', 'local/tiny', '--purge']);
  assert.equal(res.code, 0, res.stderr);
  assert.doesNotMatch(await w.read('modelmora.yaml'), /local\/tiny/);
  assert.deepEqual(parseLock(await w.read('modelmora.lock')).models, []);
  await assert.rejects(fs.stat(path.join(w.home, 'cache', 'models--local--tiny')));
  const again = await w.run(['rm', 'local/tiny']);
  assert.equal(again.stderr, 'error: local/tiny is not in modelmora.yaml or modelmora.lock (MODEL_NOT_FOUND)\n');
});

test('every command has --help with an example, and errors never print a stack', async () => {
  for (const cmd of [[], ['init'], ['add'], ['rm'], ['ls'], ['lock'], ['pull'], ['verify'], ['serve'], ['stop'], ['ps'], ['load'], ['unload'], ['status'], ['infer'], ['jobs'], ['top']]) {
    const res = await w.run([...cmd, '--help']);
    assert.equal(res.code, 0, cmd.join(' '));
    assert.match(res.stdout, /^Usage: modelmora/);
    assert.match(res.stdout, /\nExamples:\n  \$ modelmora /, cmd.join(' '));
  }
  const noProject = await w.run(['ls', '--config', 'elsewhere/modelmora.yaml']);
  assert.equal(noProject.stderr, 'error: modelmora.yaml not found in this folder (run modelmora init, or pass --config) (NOT_FOUND)\n');
  assert.doesNotMatch(noProject.stderr, /\s+at /);
});

test('--help and ps --help load commander and the command definitions only', async () => {
  const { execFile } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const hook = `export async function resolve(s, c, n) { const r = await n(s, c); process.stderr.write('LOAD ' + r.url + '\\n'); return r; }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  const bin = fileURLToPath(new URL('../../../bin/modelmora.js', import.meta.url));
  for (const args of [['--help'], ['ps', '--help']]) {
    const stderr = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, bin, ...args], (err, _out, errText) =>
        err ? reject(err) : resolve(errText),
      ),
    );
    const loaded = stderr.split('\n').filter((l) => l.startsWith('LOAD ')).map((l) => l.slice(5));
    assert.ok(loaded.some((u) => u.includes('/commander/')), 'the hook saw the imports');
    const heavy = loaded.filter((u) => /node_modules\/(yaml|@huggingface|ink|react|undici|fastify|cli-progress|onnxruntime|@grpc)|\/dist\/src\/(hub|store|project|client|daemon)\//.test(u));
    assert.deepEqual(heavy, [], args.join(' '));
  }
});
