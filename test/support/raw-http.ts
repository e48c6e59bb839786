import http from 'node:http';

/**
 * One HTTP/1.1 request with full control of the body framing: a fixed body with its
 * Content-Length, or chunks sent with Transfer-Encoding: chunked and no Content-Length. The
 * server may answer (413) and close before the body is all sent; the answer is still returned.
 */
export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export function rawRequest(
  url: string,
  options: { method: string; headers?: Record<string, string>; body?: string | Buffer; chunks?: Iterable<string | Buffer> },
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    if (options.chunks !== undefined) headers['transfer-encoding'] = 'chunked';
    const req = http.request(url, { method: options.method, headers, agent: false });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    // A server that answers early may reset the connection while we still write: not an error here.
    req.on('error', (err) => {
      if (!answered) setTimeout(() => (answered ? undefined : reject(err)), 200);
    });
    const send = async () => {
      if (options.body !== undefined) req.write(options.body);
      for (const chunk of options.chunks ?? []) {
        if (req.destroyed || answered) break;
        if (!req.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              req.off('drain', done).off('close', done);
              resolve();
            };
            req.on('drain', done).on('close', done);
          });
        }
      }
      req.end();
    };
    void send();
  });
}
