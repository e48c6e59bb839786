import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Size and sha256 of a file on disk, streamed (model files do not fit in memory). */
export async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}
