import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';

// Test keys and independent verifiers: GnuPG for OpenPGP, the openssl CLI for S/MIME. Keys are generated once per
// test file (module cache) and reused; OpenPGP keys are Curve25519 (fast, and GnuPG 2.2 reads them), S/MIME RSA 2048.

// --- OpenPGP ---

export interface PgpTestKey {
  email: string;
  /** ASCII armor. */
  publicKey: string;
  /** ASCII armor, locked with `passphrase`. */
  privateKey: string;
  passphrase: string;
  /** The secret key without a passphrase, for GnuPG: its agent takes most of a second per passphrase-locked use. */
  unlockedPrivateKey: string;
  /** Upper-case hex. */
  fingerprint: string;
  /** Upper-case 16-hex-digit key ids of the primary key and every subkey. */
  keyIds: string[];
}

export interface PgpKeyOptions {
  /** Creation date; with `expiresInSeconds`, a date in the past makes an already expired key. */
  date?: Date;
  expiresInSeconds?: number;
  /** A primary key that can only sign, without an encryption subkey. */
  signOnly?: boolean;
  rsaBits?: number;
}

export async function generatePgpKey(email: string, options: PgpKeyOptions = {}): Promise<PgpTestKey> {
  const passphrase = `pass-${randomBytes(6).toString('hex')}`;
  const generated = await openpgp.generateKey({
    userIDs: [{ name: email.split('@')[0], email }],
    passphrase,
    date: options.date,
    keyExpirationTime: options.expiresInSeconds ?? 0,
    subkeys: options.signOnly ? [] : [{}],
    ...(options.rsaBits ? { type: 'rsa' as const, rsaBits: options.rsaBits, config: { minRSABits: 1024 } } : { type: 'ecc' as const }),
    format: 'armored',
  });
  const key = await openpgp.readKey({ armoredKey: generated.publicKey, config: { minRSABits: 1024 } });
  const locked = await openpgp.readPrivateKey({ armoredKey: generated.privateKey, config: { minRSABits: 1024 } });
  const unlocked = await openpgp.decryptKey({ privateKey: locked, passphrase, config: { minRSABits: 1024 } });
  return {
    email,
    publicKey: generated.publicKey,
    privateKey: generated.privateKey,
    passphrase,
    unlockedPrivateKey: unlocked.armor(),
    fingerprint: key.getFingerprint().toUpperCase(),
    keyIds: key.getKeyIDs().map((id) => id.toHex().toUpperCase()),
  };
}

const pgpCache = new Map<string, Promise<PgpTestKey>>();

/** One Curve25519 key per address, generated once per test file. */
export function pgpKey(email: string): Promise<PgpTestKey> {
  let key = pgpCache.get(email);
  if (!key) pgpCache.set(email, (key = generatePgpKey(email)));
  return key;
}

/** The public key of `key`, revoked by its owner. */
export async function revokedPublicKey(key: PgpTestKey): Promise<string> {
  const privateKey = await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: key.privateKey }), passphrase: key.passphrase });
  const revoked = await openpgp.revokeKey({ key: privateKey, format: 'armored' });
  return revoked.publicKey;
}

/**
 * A real, validly self-signed public key whose encryption subkey is RSA with a modulus of `bits` bits. The modulus is
 * random (nobody holds its factors): enough to test size limits without waiting minutes for a 16384-bit prime.
 */
export async function publicKeyWithRsaSubkey(email: string, bits: number): Promise<string> {
  const base = await generatePgpKey(email, { signOnly: true });
  const primary = await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: base.privateKey }), passphrase: base.passphrase });
  const modulus = randomBytes(bits / 8);
  modulus[0] |= 0x80;
  modulus[modulus.length - 1] |= 1;
  const created = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000);
  const subkey = new openpgp.PublicSubkeyPacket();
  subkey.created = created;
  subkey.algorithm = openpgp.enums.publicKey.rsaEncryptSign;
  subkey.publicParams = { n: new Uint8Array(modulus), e: new Uint8Array([1, 0, 1]) };
  await (subkey as unknown as { computeFingerprintAndKeyID(): Promise<void> }).computeFingerprintAndKeyID();

  const binding = new openpgp.SignaturePacket();
  binding.signatureType = openpgp.enums.signature.subkeyBinding;
  binding.publicKeyAlgorithm = primary.keyPacket.algorithm;
  binding.hashAlgorithm = openpgp.enums.hash.sha256;
  binding.keyFlags = new Uint8Array([openpgp.enums.keyFlags.encryptCommunication | openpgp.enums.keyFlags.encryptStorage]);
  binding.issuerKeyID = primary.getKeyID();
  binding.issuerFingerprint = primary.keyPacket.getFingerprintBytes()!;
  binding.issuerKeyVersion = primary.keyPacket.version;
  // SignaturePacket.sign(key, data, date, detached, config): the typings leave out the config openpgp v6 needs.
  const signBinding = binding.sign.bind(binding) as unknown as (key: unknown, data: unknown, date: Date, detached: boolean, config: unknown) => Promise<void>;
  await signBinding(primary.keyPacket, { key: primary.keyPacket, bind: subkey }, created, false, openpgp.config);

  const packets = primary.toPublic().toPacketList();
  packets.push(subkey, binding);
  return new openpgp.PublicKey(packets).armor();
}

export interface GpgResult {
  code: number;
  stdout: Buffer;
  /** Human-readable messages and `[GNUPG:]` status lines. */
  stderr: string;
}

/** A throw-away GnuPG home. Call dispose() (afterAll) to stop its agent and remove it. */
export class Gpg {
  readonly home: string;
  private files = 0;

  constructor() {
    // Short path: the agent's socket lives here, and socket paths are limited to about 100 characters.
    this.home = mkdtempSync(join(tmpdir(), 'mp-gpg-'));
    writeFileSync(join(this.home, 'gpg-agent.conf'), 'allow-loopback-pinentry\n');
  }

  run(args: string[], input?: Buffer | string): GpgResult {
    const r = spawnSync('gpg', ['--homedir', this.home, '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--trust-model', 'always', '--status-fd', '2', ...args], { input, maxBuffer: 64 * 1024 * 1024 });
    return { code: r.status ?? -1, stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr?.toString('utf8') ?? '' };
  }

  importKey(armored: string): void {
    const r = this.run(['--import'], armored);
    if (r.code !== 0) throw new Error(`gpg --import failed: ${r.stderr}`);
  }

  decrypt(message: Buffer | string): GpgResult {
    return this.run(['--decrypt'], message);
  }

  /** gpg --verify sig.asc signed-part */
  verifyDetached(signature: Buffer | string, signed: Buffer): GpgResult {
    const sig = this.file(signature);
    const data = this.file(signed);
    return this.run(['--verify', sig, data]);
  }

  listPackets(message: Buffer | string): string {
    const r = this.run(['--list-packets', '--list-only'], message);
    return r.stdout.toString('utf8') + r.stderr;
  }

  dispose(): void {
    spawnSync('gpgconf', ['--homedir', this.home, '--kill', 'gpg-agent']);
    rmSync(this.home, { recursive: true, force: true });
  }

  private file(content: Buffer | string): string {
    const path = join(this.home, `f${++this.files}`);
    writeFileSync(path, content);
    return path;
  }
}

// --- S/MIME ---

export interface SmimeUserOptions {
  email?: string;
  /** openssl keyUsage value; default "critical,digitalSignature,keyEncipherment". */
  keyUsage?: string | null;
  /** default "emailProtection"; null leaves the extension out. */
  extendedKeyUsage?: string | null;
  /** Valid from 2020-01-01 to 2020-02-01. */
  expired?: boolean;
  /** EC P-256 instead of RSA 2048. */
  ec?: boolean;
  /** Where the address goes: subjectAltName rfc822Name (default) or the subject's emailAddress attribute. */
  emailIn?: 'san' | 'subject';
}

export interface SmimeTestUser {
  email: string;
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
  p12Password: string;
  /** PBES2 / AES-256-CBC / HMAC-SHA-256: OpenSSL 3's default. Holds the CA certificate as chain. */
  p12: Buffer;
  /** RC2-40 and 3DES with a SHA-1 MAC (`openssl pkcs12 -export -legacy`), as older Windows and Java write them. */
  legacyP12: Buffer;
}

export interface CmsResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface SmimeTestPki {
  dir: string;
  caPath: string;
  caPem: string;
  user(name: string, options?: SmimeUserOptions): SmimeTestUser;
  /** Runs `openssl cms ...args`; writes `input` to a file first when given and passes it as `-in`. */
  cms(args: string[], input?: Buffer): CmsResult;
  dispose(): void;
}

let pki: SmimeTestPki | undefined;

/** A test CA made with the openssl CLI, and users it certifies on demand. One per test file. */
export function smimeTestPki(): SmimeTestPki {
  if (pki) return pki;
  const dir = mkdtempSync(join(tmpdir(), 'mp-smime-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => runOpenssl(dir, ...args);
  try {
    createCa(dir);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const users = new Map<string, SmimeTestUser>();
  let cmsFiles = 0;
  pki = {
    dir,
    caPath: file('ca.pem'),
    caPem: readFileSync(file('ca.pem'), 'utf8'),
    user(name, options = {}) {
      const existing = users.get(name);
      if (existing) return existing;
      const email = options.email ?? `${name}@example.com`;
      const keyArgs = options.ec ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
      const subject = options.emailIn === 'subject' ? `/CN=${name}/emailAddress=${email}` : `/CN=${name}`;
      openssl('req', ...keyArgs, '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
      const keyUsage = options.keyUsage === undefined ? 'critical,digitalSignature,keyEncipherment' : options.keyUsage;
      const eku = options.extendedKeyUsage === undefined ? 'emailProtection' : options.extendedKeyUsage;
      writeFileSync(file(`${name}.ext`), [
        'basicConstraints = critical,CA:FALSE',
        ...(options.emailIn === 'subject' ? [] : [`subjectAltName = email:${email}`]),
        ...(keyUsage ? [`keyUsage = ${keyUsage}`] : []),
        ...(eku ? [`extendedKeyUsage = ${eku}`] : []),
        '',
      ].join('\n'));
      const validity = options.expired ? ['-startdate', '20200101000000Z', '-enddate', '20200201000000Z'] : ['-days', '30'];
      openssl('ca', '-batch', '-notext', '-config', file('ca.cnf'), '-in', file(`${name}.csr`), '-out', file(`${name}.pem`), '-extfile', file(`${name}.ext`), ...validity);
      const p12Password = `pw-${randomBytes(4).toString('hex')}`;
      openssl('pkcs12', '-export', '-inkey', file(`${name}.key`), '-in', file(`${name}.pem`), '-certfile', file('ca.pem'), '-out', file(`${name}.p12`), '-passout', `pass:${p12Password}`);
      const legacy = ['pkcs12', '-export', '-inkey', file(`${name}.key`), '-in', file(`${name}.pem`), '-certfile', file('ca.pem'), '-out', file(`${name}-legacy.p12`), '-passout', `pass:${p12Password}`];
      try {
        openssl(...legacy, '-legacy');
      } catch {
        // An OpenSSL without the legacy provider (RC2) can still write 3DES with a SHA-1 MAC.
        openssl(...legacy, '-certpbe', 'PBE-SHA1-3DES', '-keypbe', 'PBE-SHA1-3DES', '-macalg', 'sha1');
      }
      const user: SmimeTestUser = {
        email,
        certPem: readFileSync(file(`${name}.pem`), 'utf8'),
        keyPem: readFileSync(file(`${name}.key`), 'utf8'),
        certPath: file(`${name}.pem`),
        keyPath: file(`${name}.key`),
        p12Password,
        p12: readFileSync(file(`${name}.p12`)),
        legacyP12: readFileSync(file(`${name}-legacy.p12`)),
      };
      users.set(name, user);
      return user;
    },
    cms(args, input) {
      const full = [...args];
      if (input) {
        const path = file(`cms-${++cmsFiles}.eml`);
        writeFileSync(path, input);
        full.push('-in', path);
      }
      const r = spawnSync('openssl', ['cms', ...full], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
      return { code: r.status ?? -1, stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr?.toString('utf8') ?? '' };
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
      pki = undefined;
    },
  };
  return pki;
}

function createCa(dir: string): void {
  const file = (name: string) => join(dir, name);
  mkdirSync(file('newcerts'));
  writeFileSync(file('index.txt'), '');
  writeFileSync(file('serial'), `${randomBytes(8).toString('hex').toUpperCase()}\n`);
  writeFileSync(file('ca.cnf'), [
    '[ ca ]', 'default_ca = test_ca',
    '[ test_ca ]', `dir = ${dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir/newcerts', 'certificate = $dir/ca.pem',
    'private_key = $dir/ca.key', 'serial = $dir/serial', 'default_md = sha256', 'default_days = 30', 'policy = any',
    'unique_subject = no', 'copy_extensions = none', 'email_in_dn = yes',
    '[ any ]', 'commonName = supplied', 'emailAddress = optional', '',
  ].join('\n'));
  runOpenssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '30', '-subj', '/CN=Mailpage Test SMIME CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
}

function runOpenssl(dir: string, ...args: string[]): Buffer {
  const r = spawnSync('openssl', args, { cwd: dir });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString()}`);
  return r.stdout;
}
