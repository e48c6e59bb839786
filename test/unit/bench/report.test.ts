import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareRow, failedRow, measuredRow, pendingRow, renderMarkdown, type MachineInfo } from '../../../bench/harness/report.js';
import { summarize } from '../../../bench/harness/stats.js';

const machine: MachineInfo = {
  cores: 2,
  cpu: 'test cpu',
  memory_gb: 24,
  node: 'v20.0.0',
  platform: 'linux',
  date: '2026-01-01T00:00:00.000Z',
  mode: 'quick',
  commit: 'abc1234',
  load_average_at_start: [0.5, 0.4, 0.3],
};

describe('bench report', () => {
  test('compareRow takes the ratio of medians and judges it with the check', () => {
    const row = compareRow({
      id: '1',
      what: 'w',
      target: 'A/B >= 0.85',
      a: { label: 'A', unit: 'x/s', summary: summarize([80, 90, 85]) },
      b: { label: 'B', unit: 'x/s', summary: summarize([100, 100, 100]) },
      check: (r) => r >= 0.85,
    });
    assert.equal(row.ratio?.value, 0.85);
    assert.equal(row.met, true);
    const missed = compareRow({ ...row, target: 't', a: row.a!, b: row.b!, check: (r) => r >= 0.9 });
    assert.equal(missed.met, false);
  });

  test('A-B rows subtract the medians', () => {
    const row = compareRow({
      id: '10',
      what: 'CLI start',
      target: 'A − B <= 150 ms',
      kind: 'A-B',
      a: { label: 'help', unit: 'ms', summary: summarize([200, 210, 190]) },
      b: { label: 'node', unit: 'ms', summary: summarize([40, 50, 45]) },
      check: (d) => d <= 150,
    });
    assert.equal(row.ratio?.value, 155);
    assert.equal(row.met, false);
  });

  test('measuredRow holds one value against its target: no B, no ratio, met as judged', () => {
    const a = { label: 'daemon RSS', unit: 'MB', summary: summarize([120, 118, 122]) };
    const row = measuredRow({ id: '9a', what: 'memory', target: '<= 150 MB', a, met: a.summary.median <= 150 });
    assert.deepEqual(row, { id: '9a', what: 'memory', a, target: '<= 150 MB', met: true, status: 'measured', notes: [] });
    assert.match(renderMarkdown([row], machine), /^\| 9a \| memory \| 120 MB .*\| — \| — \| <= 150 MB \| yes \|$/m);
  });

  test('the markdown table has one line per row with its verdict, and the machine', () => {
    const rows = [
      compareRow({
        id: '3',
        what: 'overhead',
        target: 'A/B >= 0.4',
        a: { label: 'A', unit: 'req/s', summary: summarize([500, 600, 700]) },
        b: { label: 'B', unit: 'req/s', summary: summarize([1000, 1000, 1000]) },
        check: (r) => r >= 0.4,
      }),
      pendingRow('4', 'gRPC', 'A/B >= 1.0', 'gRPC is not on main yet'),
      failedRow('8', 'LRU', 'report', new Error('boom')),
    ];
    const md = renderMarkdown(rows, machine);
    const table = md.split('\n').filter((l) => /^\| \d/.test(l));
    assert.equal(table.length, 3);
    assert.match(table[0]!, /^\| 3 \| overhead \| 600 req\/s \(500–700, n=3\).* \| 0\.6 \| A\/B >= 0\.4 \| yes \|$/);
    assert.match(table[1]!, /\| pending \|$/);
    assert.match(table[2]!, /\| failed \|$/);
    assert.match(md, /2 cores \(test cpu\) · 24 GB · node v20\.0\.0/);
    assert.match(md, /\*\*4\*\* gRPC is not on main yet/);
    assert.match(md, /\*\*8\*\* failed: boom/);
  });
});
