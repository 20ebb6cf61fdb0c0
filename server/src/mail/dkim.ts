import { createHash, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import signDkimHeader from 'nodemailer/lib/dkim/sign';
import { AppConfig } from '../config/app-config';

export interface DkimKey {
  domainName: string;
  keySelector: string;
  privateKey: KeyObject;
}

/**
 * DKIM-signs the operator's relayed mail (RFC 6376, rsa-sha256, relaxed/relaxed) with DKIM_DOMAIN / DKIM_SELECTOR /
 * DKIM_PRIVATE_KEY. It signs the final bytes, after any encryption, because a signature over anything else would not
 * match what the recipient's server receives.
 */
@Injectable()
export class DkimSigner {
  private readonly key: DkimKey | null;

  constructor(config: AppConfig) {
    this.key = config.dkim ? { domainName: config.dkim.domain, keySelector: config.dkim.selector, privateKey: config.dkim.privateKey } : null;
  }

  get enabled(): boolean {
    return this.key !== null;
  }

  /** The message with a DKIM-Signature header in front; unchanged when no key is configured. */
  sign(raw: Buffer): Buffer {
    return this.key ? dkimSign(raw, this.key) : raw;
  }
}

/**
 * Signs a finished message. Line ends are made CRLF first, as they will be on the wire (SMTP DATA), so that the
 * signed bytes are the sent bytes. The header canonicalisation and the signature are nodemailer's (dkim/sign, the
 * code its streaming DKIM signer uses); the body hash is computed here so signing stays synchronous.
 */
export function dkimSign(raw: Buffer, key: DkimKey): Buffer {
  const text = raw.toString('latin1').replace(/\r?\n/g, '\r\n');
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text.replace(/(\r\n)?$/, '\r\n') : text.slice(0, split + 2);
  const body = split === -1 ? '' : text.slice(split + 4);
  const header = signDkimHeader(parseHeaders(head), 'sha256', relaxedBodyHash(body), key);
  if (!header) throw new Error('DKIM signing failed: the private key could not sign');
  return Buffer.from(`${header}\r\n${text}`, 'latin1');
}

/** Header fields in the shape nodemailer's signer reads: the lower-case name and the whole field, folding kept. */
function parseHeaders(head: string): { key: string; line: string }[] {
  const fields: { key: string; line: string }[] = [];
  for (const line of head.split('\r\n')) {
    if (!line) continue;
    if ((line[0] === ' ' || line[0] === '\t') && fields.length) fields[fields.length - 1].line += `\r\n${line}`;
    else fields.push({ key: line.slice(0, Math.max(0, line.indexOf(':'))).trim().toLowerCase(), line });
  }
  return fields;
}

/**
 * Body hash with "relaxed" canonicalisation (RFC 6376 §3.4.4): runs of spaces and tabs become one space, whitespace at
 * line ends goes, empty lines at the end go, and a non-empty body ends with one CRLF.
 */
export function relaxedBodyHash(body: string): string {
  const lines = body.split('\r\n').map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const canonical = lines.length ? `${lines.join('\r\n')}\r\n` : '';
  return createHash('sha256').update(canonical, 'latin1').digest('base64');
}
