/**
 * A second process for the cross-process pull test: pulls one snapshot into a shared home and
 * prints one JSON line per event kind counted. Not a test file itself.
 * argv[2]: JSON { home, hubUrl, id, snapshot }
 */
import { ModelRef } from '../../src/domain/model-ref.js';
import type { Snapshot } from '../../src/hub/source.js';
import { createSource } from '../../src/hub/source.js';
import { ModelStore } from '../../src/store/model-store.js';

const args = JSON.parse(process.argv[2] ?? '{}') as { home: string; hubUrl: string; id: string; snapshot: Snapshot };
const ref = ModelRef.parse(args.id);
const store = new ModelStore(args.home);
const source = createSource(ref, { hubUrl: args.hubUrl, baseDir: process.cwd() });
const counts: Record<string, number> = {};
// Tell the parent we are about to pull, so it can release both at the same moment.
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
for await (const event of store.pull(ref, source, args.snapshot)) {
  counts[event.type] = (counts[event.type] ?? 0) + 1;
  if (event.type === 'start') counts['cachedAtStart'] = event.files.filter((f) => f.cached).length;
}
process.stdout.write(`${JSON.stringify(counts)}\n`);
process.stdin.destroy();
