import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileEntry, loadFolder, treeEntries, type HubFile, type RepoCommit, type TreeEntry } from './test-hub-repo.js';

/**
 * A Hugging Face Hub on 127.0.0.1 for tests, answering the routes @huggingface/hub 2.x and
 * ModelMora call, from fixture folders, and misbehaving on demand (drop a connection, ignore
 * Range, flip a byte, answer 500, redirect) so the fault paths of pull can be tested for real.
 */

export interface TestRepoSpec {
  folder: string;
  /** Branch or tag -> commit; default { main: <hash of the folder's contents> }. */
  revisions?: Record<string, string>;
  /** Which files are LFS (carry a sha256 in the listing); default: 64 KiB and larger. */
  lfs?: (path: string, size: number) => boolean;
  /** Rewrites the tree listing, to play a hostile hub. */
  listing?: (entries: TreeEntry[]) => TreeEntry[];
  /** Answer LFS resolves with a 302 to /cdn/<sha256>, as huggingface.co does. */
  lfsRedirect?: boolean;
}

export interface RecordedRequest {
  method: string;
  url: string;
  /** The repo file a resolve or cdn request served, if any. */
  file?: string;
  range?: string;
  status: number;
  bytesSent: number;
  authorization?: string;
}

export type MisbehaviourKind = 'drop' | 'ignore-range' | 'flip-byte' | 'error-500' | 'redirect' | 'slow';

export interface Misbehaviour {
  kind: MisbehaviourKind;
  /** Repo file path it applies to; default any file. */
  path?: string;
  /** drop: body bytes sent before the socket is destroyed (default half the body). */
  afterBytes?: number;
  /** flip-byte: file offset of the flipped byte (default the middle). */
  byteIndex?: number;
  /** slow: pause between 64 KiB pieces of the body (default 20 ms). */
  delayMs?: number;
  /** How many matching requests it hits; default 1, Infinity is sticky. */
  times?: number;
}

export interface TestHub {
  url: string;
  requests: RecordedRequest[];
  misbehave(rule: Misbehaviour): void;
  clearMisbehaviour(): void;
  /** (Re)loads a repo from a folder; `main` moves to the new commit, old commits stay served. */
  setRepo(id: string, spec: TestRepoSpec): Promise<string>;
  commitOf(id: string, revision?: string): string;
  /** Requests that served bytes of `file` (resolve or cdn GETs). */
  fileRequests(file: string): RecordedRequest[];
  close(): Promise<void>;
}

interface Repo {
  spec: TestRepoSpec;
  refs: Map<string, string>;
  commits: Map<string, RepoCommit>;
}

export async function startTestHub(opts: { repos: Record<string, TestRepoSpec>; pageSize?: number }): Promise<TestHub> {
  const repos = new Map<string, Repo>();
  const requests: RecordedRequest[] = [];
  let rules: (Misbehaviour & { left: number })[] = [];

  const setRepo = async (id: string, spec: TestRepoSpec): Promise<string> => {
    const loaded = await loadFolder(spec.folder, spec.lfs);
    const repo = repos.get(id) ?? { spec, refs: new Map(), commits: new Map() };
    repo.spec = spec;
    const revisions = spec.revisions ?? { main: loaded.commit };
    for (const [rev, commit] of Object.entries(revisions)) {
      repo.refs.set(rev, commit);
      repo.commits.set(commit, { commit, files: loaded.files });
    }
    repos.set(id, repo);
    return revisions['main'] ?? Object.values(revisions)[0]!;
  };
  for (const [id, spec] of Object.entries(opts.repos)) await setRepo(id, spec);

  const takeRule = (file: string, kinds: MisbehaviourKind[]) => {
    const rule = rules.find((r) => r.left > 0 && kinds.includes(r.kind) && (r.path === undefined || r.path === file));
    if (rule) rule.left--;
    return rule;
  };

  const server = http.createServer((req, res) => {
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      status: 0,
      bytesSent: 0,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    };
    requests.push(record);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
      res.end(text);
    };
    let bodyText = '';
    req.on('data', (c: Buffer) => (bodyText += c.toString('utf8')));
    req.on('end', () => {
      try {
        route(req, res, record, bodyText, send);
      } catch (err) {
        send(500, { error: String(err) });
      }
    });
  });

  const lookup = (parts: string[]): { id: string; repo: Repo; rest: string[] } | null => {
    for (const n of [2, 1]) {
      const id = parts.slice(0, n).join('/');
      const repo = repos.get(id);
      if (repo) return { id, repo, rest: parts.slice(n) };
    }
    return null;
  };
  const commitIn = (repo: Repo, rev: string): RepoCommit | undefined => repo.commits.get(repo.refs.get(rev) ?? rev);

  function route(req: http.IncomingMessage, res: http.ServerResponse, record: RecordedRequest, body: string, send: (s: number, b: unknown, h?: Record<string, string>) => void) {
    const url = new URL(req.url ?? '/', 'http://hub');
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    if (parts[0] === 'cdn' && parts.length === 2) {
      for (const repo of repos.values()) {
        for (const c of repo.commits.values()) {
          const file = [...c.files.values()].find((f) => f.sha256 === parts[1]);
          if (file) return serveFile(req, res, record, file, c.commit, false);
        }
      }
      return send(404, 'no such blob');
    }
    const api = parts[0] === 'api' && parts[1] === 'models';
    const found = lookup(api ? parts.slice(2) : parts);
    if (!found) return send(404, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
    const { id, repo, rest } = found;
    const [verb, rev = '', ...tail] = rest;
    const snapshot = commitIn(repo, rev);
    if (!snapshot) return send(404, { error: `Invalid rev id: ${rev}` }, { 'x-error-code': 'RevisionNotFound' });
    if (api && verb === 'revision' && req.method === 'GET') {
      return send(200, {
        _id: randomBytes(12).toString('hex'),
        id,
        modelId: id,
        sha: snapshot.commit,
        private: false,
        gated: false,
        disabled: false,
        downloads: 0,
        likes: 0,
        lastModified: new Date(0).toISOString(),
        tags: [],
        siblings: [...snapshot.files.keys()].sort().map((rfilename) => ({ rfilename })),
      });
    }
    if (api && verb === 'tree' && req.method === 'GET') {
      let entries = treeEntries(snapshot, tail.join('/'), url.searchParams.get('recursive') === 'true');
      if (repo.spec.listing) entries = repo.spec.listing(entries);
      const pageSize = opts.pageSize ?? 1000;
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const page = entries.slice(cursor, cursor + pageSize);
      const headers: Record<string, string> = {};
      if (cursor + pageSize < entries.length) {
        const next = new URL(url.pathname + url.search, `http://${req.headers.host}`);
        next.searchParams.set('cursor', String(cursor + pageSize));
        headers['link'] = `<${next.href}>; rel="next"`;
      }
      return send(200, page, headers);
    }
    if (api && verb === 'paths-info' && req.method === 'POST') {
      const asked = (JSON.parse(body || '{}') as { paths?: string[] }).paths ?? [];
      const all = treeEntries(snapshot, '', true);
      return send(200, all.filter((e) => asked.includes(e.path)));
    }
    if (!api && verb === 'resolve' && (req.method === 'GET' || req.method === 'HEAD')) {
      const file = snapshot.files.get(tail.join('/'));
      if (!file) return send(404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
      record.file = file.path;
      const redirect = req.method === 'GET' && takeRule(file.path, ['redirect']);
      if (redirect || (file.lfs && repo.spec.lfsRedirect)) {
        record.status = 302;
        res.writeHead(302, { location: `/cdn/${file.sha256}`, ...fileHeaders(file, snapshot.commit), 'content-length': '0' });
        return res.end();
      }
      return serveFile(req, res, record, file, snapshot.commit, true);
    }
    return send(404, { error: 'no such route' });
  }

  function fileHeaders(file: HubFile, commit: string): Record<string, string> {
    return {
      etag: `"${file.lfs ? file.sha256 : file.gitSha1}"`,
      'x-repo-commit': commit,
      ...(file.lfs ? { 'x-linked-etag': `"${file.sha256}"`, 'x-linked-size': String(file.bytes.length) } : {}),
    };
  }

  function serveFile(req: http.IncomingMessage, res: http.ServerResponse, record: RecordedRequest, file: HubFile, commit: string, withRepoHeaders: boolean) {
    record.file = file.path;
    const isGet = req.method === 'GET';
    if (isGet && takeRule(file.path, ['error-500'])) {
      record.status = 500;
      res.writeHead(500, { 'content-type': 'text/plain' });
      return res.end('internal error');
    }
    const size = file.bytes.length;
    const ignoreRange = isGet && takeRule(file.path, ['ignore-range']);
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = ignoreRange ? undefined : /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && (range[1] !== '' || range[2] !== '')) {
      if (range[1] === '') start = Math.max(0, size - Number(range[2]));
      else {
        start = Number(range[1]);
        if (range[2] !== '') end = Math.min(end, Number(range[2]));
      }
      if (start >= size || start > end) {
        record.status = 416;
        res.writeHead(416, { 'content-range': `bytes */${size}` });
        return res.end();
      }
      status = 206;
    }
    let bytes = file.bytes.subarray(start, end + 1);
    const flip = isGet ? takeRule(file.path, ['flip-byte']) : undefined;
    if (flip) {
      const at = (flip.byteIndex ?? Math.floor(size / 2)) - start;
      if (at >= 0 && at < bytes.length) {
        bytes = Buffer.from(bytes);
        bytes[at] = bytes[at]! ^ 0xff;
      }
    }
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-length': String(bytes.length),
      'accept-ranges': 'bytes',
      ...(withRepoHeaders ? fileHeaders(file, commit) : { etag: `"${file.sha256}"` }),
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    };
    record.status = status;
    res.writeHead(status, headers);
    if (!isGet) return res.end();
    const drop = takeRule(file.path, ['drop']);
    const slow = takeRule(file.path, ['slow']);
    const limit = drop ? Math.min(bytes.length, drop.afterBytes ?? Math.floor(bytes.length / 2)) : bytes.length;
    void writeBody(res, bytes.subarray(0, limit), record, slow ? (slow.delayMs ?? 20) : 0).then(() => {
      if (drop) res.socket?.destroy();
      else res.end();
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    misbehave: (rule) => rules.push({ ...rule, left: rule.times ?? 1 }),
    clearMisbehaviour: () => {
      rules = [];
    },
    setRepo,
    commitOf: (id, revision = 'main') => {
      const commit = repos.get(id)?.refs.get(revision);
      if (!commit) throw new Error(`test hub: no ${id}@${revision}`);
      return commit;
    },
    fileRequests: (file) => requests.filter((r) => r.file === file && r.method === 'GET' && r.status !== 302),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes in 64 KiB pieces, waiting for each to flush, so a drop happens at a known byte count. */
async function writeBody(res: http.ServerResponse, bytes: Buffer, record: RecordedRequest, delayMs: number): Promise<void> {
  for (let at = 0; at < bytes.length; at += 64 * 1024) {
    const piece = bytes.subarray(at, at + 64 * 1024);
    if (delayMs > 0 && at > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (res.destroyed) return;
    await new Promise<void>((resolve) => res.write(piece, () => resolve()));
    record.bytesSent += piece.length;
  }
}

export { fileEntry, type TreeEntry };
