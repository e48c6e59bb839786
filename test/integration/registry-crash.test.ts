import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Registry } from '../../src/store/registry.js';
import { removeDir, tempDir } from '../support/fixtures.js';
import { expectedState } from '../support/registry-writer.js';

// 200 times: a child process writes the registry in a tight loop and is killed with SIGKILL at
// a random moment; the registry then opens, parses, and equals a committed state: the last one
// the writer logged, or the one after it (written and renamed, killed before it could log).
// Each round continues the same registry, so it grows across kills (up to a few thousand writes).

const WRITER = fileURLToPath(new URL('../support/registry-writer.js', import.meta.url));
const ROUNDS = 200;

let dir: string;
before(async () => {
  dir = await tempDir('modelmora-registry-crash-');
});
after(() => removeDir(dir));

async function committedSteps(home: string): Promise<number> {
  const text = await fs.readFile(path.join(home, 'committed.log'), 'utf8').catch(() => '');
  const lines = text.split('\n').filter((l) => /^\d+$/.test(l));
  return lines.length === 0 ? 0 : Number(lines.at(-1));
}

/** Starts a writer from step `first`, kills it `delayMs` after its first committed write. */
async function killedWriter(home: string, first: number, delayMs: number): Promise<void> {
  const child = spawn(process.execPath, [WRITER, home, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  try {
    // Bounded wait for the writer to commit a step past `first`, so the kill lands among writes.
    for (let i = 0; i < 400 && (await committedSteps(home)) <= first; i++) {
      if (child.exitCode !== null) throw new Error(`writer exited early: ${stderr}`);
      await sleep(5);
    }
    await sleep(delayMs);
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal(await exited, 'SIGKILL', stderr);
}

test(`${ROUNDS} kill -9s during registry writes: each reopen finds a parseable registry equal to a committed state`, async () => {
  const home = path.join(dir, 'home');
  await fs.mkdir(home, { recursive: true });
  let recoveredFromBackup = 0;
  let maxSteps = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const before = await committedSteps(home);
    await killedWriter(home, before, Math.floor(Math.random() * 25));
    const logged = await committedSteps(home);
    const registry = await Registry.open({ home });
    if (registry.warnings.length > 0) recoveredFromBackup++;
    const { data } = await registry.list({ page_size: 100 });
    const total = (await registry.list({ page_size: 1 })).meta.total;
    const all: Record<string, string> = {};
    for (let page = 1; page <= Math.ceil(total / 100); page++) {
      for (const m of (await registry.list({ page, page_size: 100 })).data) all[m.model_id] = m.display_name ?? '';
    }
    assert.ok(data.length > 0 || logged === 0);
    const candidates = [logged, logged + 1];
    const match = candidates.find((n) => JSON.stringify(sortKeys(expectedState(n))) === JSON.stringify(sortKeys(all)));
    assert.notEqual(match, undefined, `round ${round}: the registry (${total} models) equals neither committed state ${logged} nor ${logged + 1}`);
    // The next writer continues from the state found (a step written but not logged counts).
    if (match !== logged) await fs.appendFile(path.join(home, 'committed.log'), `${match}\n`);
    maxSteps = match!;
  }
  assert.ok(maxSteps >= ROUNDS, `every round committed at least one write (${maxSteps} steps)`);
  // Informational: how often the main file was unreadable and .bak was used (a rename makes it rare).
  console.log(`registry kill -9: ${ROUNDS} rounds, ${maxSteps} committed steps, ${recoveredFromBackup} recoveries from .bak`);
});

function sortKeys(o: Record<string, string>): Array<[string, string]> {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1));
}
