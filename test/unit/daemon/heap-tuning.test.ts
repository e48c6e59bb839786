import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The growing factor of each old-generation limit V8 set in a fresh node that ran `code` (--trace-gc-verbose). */
async function factors(code: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--trace-gc-verbose', '--input-type=module', '-e', code]);
  return [...stdout.matchAll(/\[HeapController\] Limit: .* \((\d+\.\d)\)\n/g)].map((m) => m[1]!);
}

describe('heap tuning', () => {
  it('the growing factor set while the process runs is the one V8 uses from the next collection on', async () => {
    const module = new URL('../../../src/daemon/heap-tuning.js', import.meta.url).href;
    // 150 rather than the daemon's 300: V8's dynamic factor never exceeds 4.0, so 2.5 can only
    // come from the flag.
    const tuned = await factors(`const { tuneHeapForServing } = await import(${JSON.stringify(module)});
      globalThis.gc(); tuneHeapForServing(150); globalThis.gc(); globalThis.gc();`);
    assert.equal(tuned.length, 3, `one factor per full collection: ${tuned.join(', ')}`);
    assert.notEqual(tuned[0], '2.5');
    assert.deepEqual(tuned.slice(1), ['2.5', '2.5']);
  });

  it('turns off allocation-site pretenuring: no site is judged for tenuring any more', async () => {
    const module = new URL('../../../src/daemon/heap-tuning.js', import.meta.url).href;
    // Objects from one site that outlive several scavenges: V8 weighs pretenuring the site.
    const allocate = `let keep = [];
      const make = (i) => ({ i, a: [i] });
      for (let r = 0; r < 60; r++) { for (let i = 0; i < 50000; i++) keep.push(make(i)); if (keep.length > 600000) keep = keep.slice(300000); }`;
    const sites = async (code: string) => {
      const { stdout } = await run(process.execPath, ['--trace-pretenuring-statistics', '--input-type=module', '-e', code]);
      return stdout.split('\n').filter((line) => line.includes('pretenuring: AllocationSite')).length;
    };
    assert.ok((await sites(allocate)) > 0, 'untuned, V8 weighs the site');
    assert.equal(await sites(`const { tuneHeapForServing } = await import(${JSON.stringify(module)}); tuneHeapForServing(); ${allocate}`), 0);
  });
});

