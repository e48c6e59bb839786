/** Row 10: wall time of `modelmora --help` against `node -e 0` (Node's own start), alternated. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO, type BenchContext } from '../harness/context.js';
import { compareRow, type RowResult } from '../harness/report.js';
import { alternate } from '../harness/stats.js';

function wallMs(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...args], { stdio: 'ignore', cwd: REPO });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

export async function cliStartRows(ctx: BenchContext): Promise<RowResult[]> {
  const bin = path.join(REPO, 'bin', 'modelmora.js');
  const runs = ctx.quick ? ctx.rounds.runs : 15;
  const results = await alternate(
    { help: () => wallMs([bin, '--help']), node: () => wallMs(['-e', '0']) },
    { ...ctx.rounds, runs },
  );
  return [
    compareRow({
      id: '10',
      what: 'CLI start',
      target: 'A − B <= 150 ms',
      kind: 'A-B',
      a: { label: '`modelmora --help` wall time', unit: 'ms', summary: results.help },
      b: { label: '`node -e 0`', unit: 'ms', summary: results.node },
      check: (d) => d <= 150,
    }),
  ];
}
