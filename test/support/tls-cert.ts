import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/** A self-signed certificate for localhost and 127.0.0.1, made with the openssl CLI at test time. */
export interface TestCert {
  certFile: string;
  keyFile: string;
  /** The certificate PEM: what a client trusts (it is its own CA). */
  cert: Buffer;
}

export async function selfSignedCert(dir: string): Promise<TestCert> {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  return { certFile, keyFile, cert: await readFile(certFile) };
}
