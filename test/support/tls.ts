import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throw-away certificate authority and one server certificate it signed, all PEM. */
export interface TestCa {
  /** The CA certificate: trust this to accept `certPem`. */
  caPem: string;
  /** Server certificate for `localhost` and `127.0.0.1` (subjectAltName), signed by the CA. */
  certPem: string;
  /** Unencrypted private key of `certPem`. */
  keyPem: string;
}

let cached: TestCa | undefined;

/**
 * Generates a test CA and a server certificate for `localhost` / `127.0.0.1` with the `openssl` CLI,
 * so the certificates come from a tool we did not write. Generated once per process and cached:
 * later calls return the same PEMs whatever `dir` they pass.
 *
 * `dir` is where the working files go; without it a temporary directory is used and removed afterwards.
 */
export function createTestCa(dir?: string): TestCa {
  if (cached) return cached;
  const work = dir ?? mkdtempSync(join(tmpdir(), 'mailpage-test-ca-'));
  if (dir) mkdirSync(dir, { recursive: true });
  const file = (name: string) => join(work, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '7', '-subj', '/CN=Mailpage Test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    openssl('req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost');
    writeFileSync(file('server.ext'), [
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'));
    openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '7', '-extfile', file('server.ext'), '-out', file('server.pem'));
    cached = {
      caPem: readFileSync(file('ca.pem'), 'utf8'),
      certPem: readFileSync(file('server.pem'), 'utf8'),
      keyPem: readFileSync(file('server.key'), 'utf8'),
    };
    return cached;
  } finally {
    if (!dir) rmSync(work, { recursive: true, force: true });
  }
}

/** The test CA's certificate in a file of its own, for a server that trusts it as an operator would: NODE_EXTRA_CA_CERTS. */
export function testCaFile(ca: TestCa = createTestCa()): string {
  const file = join(mkdtempSync(join(tmpdir(), 'mailpage-ca-')), 'ca.pem');
  writeFileSync(file, ca.caPem);
  return file;
}
