import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('releaseHeapMemory', () => {
  it('gives the young generation back, and the process still exits at once afterwards', async () => {
    const module = new URL('../../../src/runtime/heap-release.js', import.meta.url).href;
    // Young garbage grows new space to its cap; a plain collection would leave it that size.
    const code = `const { releaseHeapMemory } = await import(${JSON.stringify(module)});
      const { getHeapSpaceStatistics } = await import('node:v8');
      const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
      let keep = [];
      for (let i = 0; i < 2e6; i++) { keep.push({ i }); if (keep.length > 5e4) keep = []; }
      const before = newSpace();
      await releaseHeapMemory();
      console.log(JSON.stringify({ before, after: newSpace() }));
      process.exit(0);`;
    // A session closed inside its own callback made process.exit hang: the timeout catches that.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { timeout: 20_000 });
    const { before, after } = JSON.parse(stdout) as { before: number; after: number };
    assert.ok(after < before, `new space ${before} -> ${after} bytes`);
  });
});
