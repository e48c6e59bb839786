/**
 * A registry writer for the kill -9 test: opens <home>/registry.json and changes it in a tight
 * loop until it is killed. After each change has resolved (written, fsynced, renamed), it
 * appends the step number to <home>/committed.log and fsyncs that, so the parent knows which
 * states were committed before the kill. The steps are deterministic (expectedState), so the
 * parent can rebuild the state after any step.
 *
 *   node registry-writer.js <home> <first-step>
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Registry } from '../../src/store/registry.js';

/** Step n: every third step renames an existing model, the others register a new one. */
export function stepOf(n: number, registered: number): { kind: 'register'; id: string } | { kind: 'update'; id: string } {
  if (n % 3 === 2 && registered > 0) return { kind: 'update', id: `w/m${(n * 7) % registered}` };
  return { kind: 'register', id: `w/m${registered}` };
}

/** model id -> display_name after steps 0..n-1 (n = 0: empty). */
export function expectedState(n: number): Record<string, string> {
  const state: Record<string, string> = {};
  let registered = 0;
  for (let i = 0; i < n; i++) {
    const step = stepOf(i, registered);
    state[step.id] = `v${i}`;
    if (step.kind === 'register') registered++;
  }
  return state;
}

async function main(home: string, first: number): Promise<void> {
  const registry = await Registry.open({ home });
  const log = openSync(path.join(home, 'committed.log'), 'a');
  let registered = (await registry.list({ page_size: 100 })).meta.total;
  process.stdout.write('ready\n');
  for (let n = first; n < first + 100_000; n++) {
    const step = stepOf(n, registered);
    if (step.kind === 'register') {
      await registry.register({ model_id: step.id, task_type: 'txt2embed', display_name: `v${n}` });
      registered++;
    } else {
      await registry.update(step.id, { display_name: `v${n}` });
    }
    writeSync(log, `${n + 1}\n`);
    fsyncSync(log);
  }
  closeSync(log);
}

if (process.argv[1]?.endsWith('registry-writer.js')) {
  void main(process.argv[2]!, Number(process.argv[3] ?? 0));
}
