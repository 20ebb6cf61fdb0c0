import { constants, createCipheriv, createHash, createPrivateKey, createPublicKey, publicEncrypt, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import forge from 'node-forge';
import * as pkijs from 'pkijs';
import { DomainError } from '../common/domain-error';
import { base64Lines, entityBytes, multipartBody, newBoundary, type MimeEntity } from './mime-entity';

// S/MIME 4.0 (RFC 8551) over CMS (RFC 5652). PKI.js is used for the ASN.1 structures only; every cryptographic
// operation is Node's own (OpenSSL), because WebCrypto has no RSAES-PKCS1-v1_5 and PKI.js puts AES-GCM in an
// EnvelopedData that OpenSSL refuses (PKI.js#531).

export const MAX_CERTIFICATE_BYTES = 64 * 1024;
export const MAX_PKCS12_BYTES = 64 * 1024;
export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 8192;

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  authEnvelopedData: '1.2.840.113549.1.9.16.1.23',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  smimeCapabilities: '1.2.840.113549.1.9.15',
  emailAddress: '1.2.840.113549.1.9.1',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  aes128Cbc: '2.16.840.1.101.3.4.1.2',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  aes256Gcm: '2.16.840.1.101.3.4.1.46',
  subjectAltName: '2.5.29.17',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;

// keyUsage bits (RFC 5280 section 4.2.1.3), as masks on the first byte of the BIT STRING.
const DIGITAL_SIGNATURE = 0x80;
const NON_REPUDIATION = 0x40;
const KEY_ENCIPHERMENT = 0x20;

/** Public facts about an X.509 certificate, safe to store and show. */
export interface SmimeCertInfo {
  /** SHA-256 of the DER certificate, upper-case hex without separators. */
  fingerprint: string;
  subject: string;
  issuer: string;
  /** Upper-case hex. */
  serialNumber: string;
  /** Lower-cased: subjectAltName rfc822Name entries, then subject emailAddress. */
  emails: string[];
  notBefore: Date;
  notAfter: Date;
  /** "rsa" or "ec". */
  keyType: string;
  bits: number | null;
  curve: string | null;
  /** RSA key, and keyUsage allows keyEncipherment (or has no keyUsage), and extKeyUsage allows e-mail. */
  canEncrypt: boolean;
  canSign: boolean;
  /** The certificate as PEM: what to store and later pass to MailCryptoService. */
  pem: string;
}

/** A parsed certificate, ready to encrypt to or to sign with. */
export interface SmimeCertificate {
  der: Buffer;
  cert: pkijs.Certificate;
  info: SmimeCertInfo;
}

export interface SmimeSigner {
  certificate: SmimeCertificate;
  /** Other certificates from the keystore (intermediates, root), sent along with the signature. */
  chain: SmimeCertificate[];
  privateKey: KeyObject;
}

export interface SmimeEncryptOptions {
  /** RSAES-OAEP with SHA-256 (default), or RSAES-PKCS1-v1_5 for clients that cannot read OAEP. */
  oaep?: boolean;
  /**
   * AES-256-GCM in AuthEnvelopedData (RFC 5083, RFC 5084) instead of AES-256-CBC in EnvelopedData. OpenSSL 3 and
   * Thunderbird read it; Outlook and .NET do not, so use it only for recipients known to support it.
   */
  gcm?: boolean;
}

/**
 * Checks a certificate someone uploads for a recipient address and returns what to store. Refuses with
 * DomainError KEY_INVALID / KEY_EXPIRED (400): over 64 kB, not a certificate, a private key in the upload, not yet
 * valid or expired, not RSA 2048..8192, keyUsage without keyEncipherment, extKeyUsage without emailProtection, and,
 * with `expectedEmail`, a certificate that does not name that address.
 */
export function readCertificateForUpload(pemOrDer: Buffer | string, expectedEmail?: string, now: Date = new Date()): SmimeCertInfo {
  const size = typeof pemOrDer === 'string' ? Buffer.byteLength(pemOrDer) : pemOrDer.length;
  if (size > MAX_CERTIFICATE_BYTES) {
    throw invalid(`The certificate file is ${Math.ceil(size / 1024)} kB; Mailpage accepts at most ${MAX_CERTIFICATE_BYTES / 1024} kB. Upload the person's certificate alone, as PEM or DER.`);
  }
  const text = typeof pemOrDer === 'string' ? pemOrDer : pemOrDer.subarray(0, 64).toString('latin1').includes('-----BEGIN') ? pemOrDer.toString('latin1') : null;
  if (text !== null && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw invalid('The upload holds a private key. Mailpage needs only the certificate (the .crt/.pem/.cer file); the private key was not stored.');
  }
  let der: Buffer;
  if (text !== null) {
    const block = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(text);
    if (!block) throw notACertificate();
    der = Buffer.from(block[1].replace(/\s+/g, ''), 'base64');
  } else {
    der = Buffer.from(pemOrDer as Buffer);
  }
  const certificate = parseCertificate(der);
  checkRecipient(certificate, 400, 'This certificate', now);
  if (expectedEmail) checkEmail(certificate.info, expectedEmail);
  return certificate.info;
}

/** Parses a certificate stored after readCertificateForUpload; use checkRecipientCertificate at send time. */
export function readStoredCertificate(pem: string): SmimeCertificate {
  const block = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!block) throw new Error('the stored certificate is not PEM');
  return parseCertificate(Buffer.from(block[1].replace(/\s+/g, ''), 'base64'));
}

/** At send time: a stored certificate may have expired since its upload. Throws DomainError (422). */
export function checkRecipientCertificate(certificate: SmimeCertificate, address: string, now: Date = new Date()): void {
  checkRecipient(certificate, 422, `The S/MIME certificate for ${address}`, now);
}

/**
 * Reads a PKCS#12 keystore (.p12/.pfx): modern (PBES2, AES, HMAC-SHA-256) and legacy (3DES, RC2, SHA-1) ones both,
 * through node-forge. Returns the certificate that belongs to the one private key, and the other certificates as
 * the chain. KEY_PASSWORD_WRONG when the password does not open it; KEY_INVALID / KEY_EXPIRED (400) otherwise.
 */
export function readPkcs12(p12: Buffer, password: string, options: { expectedEmail?: string; now?: Date } = {}): SmimeSigner {
  const signer = openPkcs12(p12, password, options.now ?? new Date(), 400, 'This certificate');
  if (options.expectedEmail) checkEmail(signer.certificate.info, options.expectedEmail);
  return signer;
}

/** At send time: opens the stored keystore and checks its certificate can still sign. Failures are DomainError (422). */
export function loadSigner(p12: Buffer, password: string, now: Date = new Date()): SmimeSigner {
  return openPkcs12(p12, password, now, 422, "The sender's S/MIME signing certificate");
}

function openPkcs12(p12: Buffer, password: string, now: Date, status: number, subject: string): SmimeSigner {
  const invalid = (message: string) => new DomainError('KEY_INVALID', status, message);
  if (p12.length > MAX_PKCS12_BYTES) {
    throw invalid(`The keystore is ${Math.ceil(p12.length / 1024)} kB; Mailpage accepts at most ${MAX_PKCS12_BYTES / 1024} kB. Export only your own certificate, its key and its chain.`);
  }
  let asn1: forge.asn1.Asn1;
  try {
    asn1 = forge.asn1.fromDer(forge.util.createBuffer(p12.toString('binary')));
  } catch {
    throw invalid('This is not a PKCS#12 keystore (.p12 or .pfx file). Export your certificate with its private key from your mail client or certificate store.');
  }
  let store: forge.pkcs12.Pkcs12Pfx;
  try {
    store = forge.pkcs12.pkcs12FromAsn1(asn1, false, password);
  } catch (e) {
    if (/password|MAC|decrypt/i.test((e as Error).message ?? '')) {
      throw new DomainError('KEY_PASSWORD_WRONG', status, 'The password does not open this keystore; check it and try again.', { field: 'password' });
    }
    throw invalid('This keystore could not be read: it may be damaged or protected with an encryption Mailpage does not know. Export it again with AES-256 (or 3DES) protection.');
  }

  const keyBags = [
    ...(store.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
    ...(store.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? []),
  ];
  if (keyBags.length !== 1) throw invalid(`The keystore holds ${keyBags.length} private keys; export exactly one certificate with its private key.`);
  const privateKey = keyObject(keyBags[0], invalid);
  const certs = (store.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? []).map((bag) => {
    const asn = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : (bag as { asn1?: forge.asn1.Asn1 }).asn1;
    if (!asn) throw invalid('The keystore holds a certificate that is not X.509.');
    return parseCertificate(Buffer.from(forge.asn1.toDer(asn).getBytes(), 'binary'));
  });
  const publicDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const own = certs.find((c) => new X509Certificate(c.der).publicKey.export({ type: 'spki', format: 'der' }).equals(publicDer));
  if (!own) throw invalid('The keystore has no certificate for its private key; export the certificate together with its key.');

  checkValidity(own.info, status, subject, now);
  if (!own.info.canSign) {
    throw invalid(`${subject} may not sign e-mail: its keyUsage lacks digitalSignature, or its extendedKeyUsage lacks emailProtection, or its key is not RSA ${MIN_RSA_BITS}..${MAX_RSA_BITS} or EC P-256/P-384/P-521.`);
  }
  return { certificate: own, chain: certs.filter((c) => c !== own), privateKey };
}

/**
 * Encrypts a MIME payload to every certificate given, as application/pkcs7-mime. Each certificate is named in the
 * RecipientInfos by issuer and serial number: pass exactly the certificates this copy is for.
 */
export function smimeEncrypt(payload: Buffer, certificates: SmimeCertificate[], options: SmimeEncryptOptions = {}): MimeEntity {
  if (!certificates.length) throw new Error('smimeEncrypt needs at least one certificate');
  const oaep = options.oaep ?? true;
  const cek = randomBytes(32);
  const recipientInfos = certificates.map((c) => new pkijs.RecipientInfo({ variant: 1, value: keyTransRecipient(c, cek, oaep) }));
  let contentInfo: pkijs.ContentInfo;
  if (options.gcm) {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', cek, nonce, { authTagLength: 16 });
    const encrypted = Buffer.concat([cipher.update(payload), cipher.final()]);
    const gcmParameters = new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: nonce }), new asn1js.Integer({ value: 16 })] });
    // AuthEnvelopedData (RFC 5083 section 2.1) without authAttrs: the GCM tag is the mac, and the AAD is empty.
    const authEnveloped = new asn1js.Sequence({
      value: [
        new asn1js.Integer({ value: 0 }),
        new asn1js.Set({ value: recipientInfos.map((r) => r.toSchema()) }),
        encryptedContentInfo(OID.aes256Gcm, gcmParameters, encrypted).toSchema(),
        new asn1js.OctetString({ valueHex: cipher.getAuthTag() }),
      ],
    });
    contentInfo = new pkijs.ContentInfo({ contentType: OID.authEnvelopedData, content: authEnveloped });
  } else {
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-256-cbc', cek, iv);
    const encrypted = Buffer.concat([cipher.update(payload), cipher.final()]);
    const enveloped = new pkijs.EnvelopedData({
      version: 0,
      recipientInfos,
      encryptedContentInfo: encryptedContentInfo(OID.aes256Cbc, new asn1js.OctetString({ valueHex: iv }), encrypted),
    });
    contentInfo = new pkijs.ContentInfo({ contentType: OID.envelopedData, content: enveloped.toSchema() });
  }
  cek.fill(0);
  const smimeType = options.gcm ? 'authEnveloped-data' : 'enveloped-data';
  return {
    headers: [
      `Content-Type: application/pkcs7-mime; smime-type=${smimeType};\r\n name="smime.p7m"`,
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="smime.p7m"',
      'Content-Description: S/MIME Encrypted Message',
    ],
    body: base64Lines(new Uint8Array(contentInfo.toSchema().toBER(false))),
  };
}

/**
 * A detached CMS signature over the payload bytes, as multipart/signed with application/pkcs7-signature
 * (RFC 8551 section 3.5.3). Signed attributes: contentType, signingTime, messageDigest, SMIMECapabilities.
 */
export function smimeSign(payload: Buffer, signer: SmimeSigner, now: Date = new Date()): MimeEntity {
  const digest = createHash('sha256').update(payload).digest();
  const capabilities = [OID.aes256Cbc, OID.aes128Cbc, OID.rsaesOaep, OID.rsaEncryption].map((oid) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid })] }));
  const attributes = [
    new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
    new pkijs.Attribute({ type: OID.signingTime, values: [new asn1js.UTCTime({ valueDate: now })] }),
    new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: digest })] }),
    new pkijs.Attribute({ type: OID.smimeCapabilities, values: [new asn1js.Sequence({ value: capabilities })] }),
  ];
  // signedAttrs is a DER SET OF: sorted by encoding (X.690 section 11.6), and the signature covers that SET.
  const encoded = attributes.map((a) => ({ a, der: Buffer.from(a.toSchema().toBER(false)) })).sort((x, y) => Buffer.compare(x.der, y.der));
  const signedAttrs = Buffer.from(new asn1js.Set({ value: encoded.map((e) => e.a.toSchema()) }).toBER(false));
  const ec = signer.privateKey.asymmetricKeyType === 'ec';
  const signature = sign('sha256', signedAttrs, signer.privateKey);

  const { cert } = signer.certificate;
  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
    signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: encoded.map((e) => e.a) }),
    signatureAlgorithm: ec
      ? new pkijs.AlgorithmIdentifier({ algorithmId: OID.ecdsaWithSha256 })
      : new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() }),
    signature: new asn1js.OctetString({ valueHex: signature }),
  });
  const signed = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 })],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    certificates: [cert, ...signer.chain.map((c) => c.cert)],
    signerInfos: [signerInfo],
  });
  const contentInfo = new pkijs.ContentInfo({ contentType: OID.signedData, content: signed.toSchema(true) });
  const boundary = newBoundary();
  const signaturePart = entityBytes({
    headers: [
      'Content-Type: application/pkcs7-signature; name="smime.p7s"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="smime.p7s"',
      'Content-Description: S/MIME Cryptographic Signature',
    ],
    body: base64Lines(new Uint8Array(contentInfo.toSchema().toBER(false))),
  });
  return {
    headers: [`Content-Type: multipart/signed; protocol="application/pkcs7-signature";\r\n micalg=sha-256; boundary="${boundary}"`],
    body: multipartBody(boundary, [payload, signaturePart]),
  };
}

// --- building blocks ---

function keyTransRecipient(certificate: SmimeCertificate, cek: Buffer, oaep: boolean): pkijs.KeyTransRecipientInfo {
  const publicKey = new X509Certificate(certificate.der).publicKey;
  const encryptedKey = oaep
    ? publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek)
    : publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, cek);
  // RSAES-OAEP-params with SHA-256 for both the hash and MGF1 (RFC 4055 section 4.1); PKI.js would default to SHA-512.
  const sha256 = new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 });
  const keyEncryptionAlgorithm = oaep
    ? new pkijs.AlgorithmIdentifier({
        algorithmId: OID.rsaesOaep,
        algorithmParams: new pkijs.RSAESOAEPParams({ hashAlgorithm: sha256, maskGenAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.mgf1, algorithmParams: sha256.toSchema() }) }).toSchema(),
      })
    : new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() });
  return new pkijs.KeyTransRecipientInfo({
    version: 0,
    rid: new pkijs.IssuerAndSerialNumber({ issuer: certificate.cert.issuer, serialNumber: certificate.cert.serialNumber }),
    keyEncryptionAlgorithm,
    encryptedKey: new asn1js.OctetString({ valueHex: encryptedKey }),
  });
}

function encryptedContentInfo(algorithm: string, params: asn1js.BaseBlock, encrypted: Buffer): pkijs.EncryptedContentInfo {
  return new pkijs.EncryptedContentInfo({
    contentType: OID.data,
    contentEncryptionAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: algorithm, algorithmParams: params }),
    encryptedContent: new asn1js.OctetString({ valueHex: encrypted }),
    disableSplit: true,
  });
}

function keyObject(bag: forge.pkcs12.Bag, invalid: (message: string) => DomainError): KeyObject {
  try {
    if (bag.key) return createPrivateKey(forge.pki.privateKeyToPem(bag.key as forge.pki.rsa.PrivateKey));
    const asn = (bag as { asn1?: forge.asn1.Asn1 }).asn1;
    if (!asn) throw new Error('no key');
    return createPrivateKey({ key: Buffer.from(forge.asn1.toDer(asn).getBytes(), 'binary'), format: 'der', type: 'pkcs8' });
  } catch {
    throw invalid('The private key in this keystore could not be read; Mailpage signs with RSA and EC keys.');
  }
}

function parseCertificate(der: Buffer): SmimeCertificate {
  let x509: X509Certificate;
  let cert: pkijs.Certificate;
  try {
    x509 = new X509Certificate(der);
    cert = pkijs.Certificate.fromBER(new Uint8Array(der));
  } catch {
    throw notACertificate();
  }
  const extension = (oid: string) => cert.extensions?.find((e) => e.extnID === oid);

  const emails: string[] = [];
  const san = extension(OID.subjectAltName)?.parsedValue as pkijs.AltName | undefined;
  for (const name of san?.altNames ?? []) if (name.type === 1 && typeof name.value === 'string') emails.push(name.value.toLowerCase());
  for (const tv of cert.subject.typesAndValues) {
    if (tv.type === OID.emailAddress) emails.push(String(tv.value.valueBlock.value).toLowerCase());
  }

  const keyUsage = extension(OID.keyUsage)?.parsedValue as asn1js.BitString | undefined;
  const usage = keyUsage ? (keyUsage.valueBlock.valueHexView[0] ?? 0) : null;
  const eku = extension(OID.extKeyUsage)?.parsedValue as pkijs.ExtKeyUsage | undefined;
  const forMail = !eku || eku.keyPurposes.includes(OID.emailProtection) || eku.keyPurposes.includes(OID.anyExtendedKeyUsage);

  const publicKey = x509.publicKey;
  const keyType = publicKey.asymmetricKeyType ?? 'unknown';
  const details = publicKey.asymmetricKeyDetails ?? {};
  const bits = keyType === 'rsa' ? (details.modulusLength ?? null) : null;
  const rsaOk = keyType === 'rsa' && bits !== null && bits >= MIN_RSA_BITS && bits <= MAX_RSA_BITS;
  const ecOk = keyType === 'ec' && ['prime256v1', 'secp384r1', 'secp521r1'].includes(details.namedCurve ?? '');

  const info: SmimeCertInfo = {
    fingerprint: x509.fingerprint256.replace(/:/g, '').toUpperCase(),
    subject: x509.subject.split('\n').join(', '),
    issuer: x509.issuer.split('\n').join(', '),
    serialNumber: x509.serialNumber.toUpperCase(),
    emails: [...new Set(emails)],
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    keyType,
    bits,
    curve: details.namedCurve ?? null,
    canEncrypt: rsaOk && forMail && (usage === null || (usage & KEY_ENCIPHERMENT) !== 0),
    canSign: (rsaOk || ecOk) && forMail && (usage === null || (usage & (DIGITAL_SIGNATURE | NON_REPUDIATION)) !== 0),
    pem: x509.toString(),
  };
  return { der, cert, info };
}

function checkRecipient(certificate: SmimeCertificate, status: number, subject: string, now: Date): void {
  const { info } = certificate;
  checkValidity(info, status, subject, now);
  if (info.keyType !== 'rsa') {
    throw new DomainError('KEY_INVALID', status, `${subject} has an ${info.keyType.toUpperCase()} key; Mailpage encrypts S/MIME mail to RSA certificates only.`);
  }
  if (info.bits === null || info.bits < MIN_RSA_BITS || info.bits > MAX_RSA_BITS) {
    throw new DomainError('KEY_INVALID', status, `${subject} has an RSA key of ${info.bits} bits; Mailpage accepts ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits.`);
  }
  if (!info.canEncrypt) {
    throw new DomainError('KEY_INVALID', status, `${subject} may not be used for encryption: its keyUsage lacks keyEncipherment or its extendedKeyUsage lacks emailProtection. Ask for the person's encryption certificate.`);
  }
}

function checkValidity(info: SmimeCertInfo, status: number, subject: string, now: Date): void {
  if (info.notAfter.getTime() < now.getTime()) {
    throw new DomainError('KEY_EXPIRED', status, `${subject} expired on ${day(info.notAfter)}; ask its owner for a renewed certificate and upload it again.`);
  }
  if (info.notBefore.getTime() > now.getTime()) {
    throw new DomainError('KEY_INVALID', status, `${subject} is not valid before ${day(info.notBefore)}; check the date or upload the current certificate.`);
  }
}

function checkEmail(info: SmimeCertInfo, expected: string): void {
  if (info.emails.includes(expected.toLowerCase())) return;
  const listed = info.emails.length ? info.emails.join(', ') : 'no e-mail address';
  throw invalid(`This certificate is not for ${expected}: it names ${listed}. Upload the certificate issued to that address.`);
}

function notACertificate(): DomainError {
  return invalid('This is not an X.509 certificate. Upload the certificate as a .pem/.crt file (text starting with "-----BEGIN CERTIFICATE-----") or a .cer/.der file.');
}

function invalid(message: string): DomainError {
  return new DomainError('KEY_INVALID', 400, message);
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}
