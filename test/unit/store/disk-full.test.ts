import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ERROR_CODES, ModelMoraError } from '../../../src/domain/errors.js';
import { ModelRef } from '../../../src/domain/model-ref.js';
import { contentCommit } from '../../../src/hub/content-commit.js';
import type { ModelSource, OpenedFile, Snapshot, SourceFile } from '../../../src/hub/source.js';
import type { BlobWriter, OpenWriter } from '../../../src/store/blob-download.js';
import { ModelStore } from '../../../src/store/model-store.js';
import { collect, listTree, removeDir, tempDir } from '../../support/fixtures.js';

// A full disk during a download, simulated by the store's injected writer (no real full disk):
// the write that crosses the "free space" fails with ENOSPC, as fs does.

const data = new Map([['onnx/model.onnx', randomBytes(3 * 1024 * 1024)], ['config.json', Buffer.from('{}')]]);
const files: SourceFile[] = [...data].map(([p, b]) => ({ path: p, size: b.length, sha256: createHash('sha256').update(b).digest('hex') }));
const snapshot: Snapshot = { commit: contentCommit(files), files };
const source: ModelSource = {
  kind: 'local',
  location: 'memory',
  resolve: async () => snapshot,
  open: async (_commit: string, file: SourceFile, offset: number): Promise<OpenedFile> => {
    const bytes = data.get(file.path)!;
    async function* body() {
      for (let at = offset; at < bytes.length; at += 64 * 1024) yield bytes.subarray(at, at + 64 * 1024);
    }
    return { offset, body: body() };
  },
};

/** node:fs handles whose writes fail with ENOSPC once `freeBytes` have been written in total. */
function diskWithFree(freeBytes: number): { open: OpenWriter; written: () => number } {
  let written = 0;
  const open: OpenWriter = async (file, flags) => {
    const handle = await fs.open(file, flags);
    const writer: BlobWriter = {
      write: async (buffer: Buffer) => {
        if (written + buffer.length > freeBytes) {
          throw Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), { code: 'ENOSPC', errno: -28 });
        }
        written += buffer.length;
        return handle.write(buffer);
      },
      truncate: (length) => handle.truncate(length),
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
    return writer;
  };
  return { open, written: () => written };
}

let dir: string;
before(async () => {
  dir = await tempDir('modelmora-disk-full-');
});
after(() => removeDir(dir));

test('ENOSPC while writing a blob: INSUFFICIENT_STORAGE (507), the partial file is removed, a later pull with space succeeds', async () => {
  const ref = ModelRef.parse('org/full');
  const home = path.join(dir, 'home');
  const disk = diskWithFree(1024 * 1024);
  const full = new ModelStore(home, { openWriter: disk.open });
  await assert.rejects(collect(full.pull(ref, source, snapshot, { concurrency: 1, retries: 3, retryDelayMs: 1 })), (err: unknown) => {
    assert.ok(err instanceof ModelMoraError);
    assert.equal(err.code, 'INSUFFICIENT_STORAGE');
    assert.equal(err.httpStatus, 507);
    assert.equal(ERROR_CODES.INSUFFICIENT_STORAGE.http, 507);
    assert.equal(err.message, 'No space left in the model cache');
    return true;
  });
  assert.ok(disk.written() > 0, 'the writer did write before the disk filled up');
  const tree = await listTree(full.cacheDir);
  assert.deepEqual(tree.filter((f) => f.endsWith('.incomplete')), [], `no partial file left: ${tree.join(', ')}`);
  const bigBlob = files.find((f) => f.path === 'onnx/model.onnx')!.sha256;
  assert.ok(!tree.some((f) => f.endsWith(bigBlob)), 'no blob under its final name');

  // Space freed: the same cache takes the model.
  const roomy = new ModelStore(home);
  const events = await collect(roomy.pull(ref, source, snapshot));
  assert.equal(events.at(-1)?.type, 'done');
  assert.ok(await roomy.isComplete(ref, snapshot));
});
