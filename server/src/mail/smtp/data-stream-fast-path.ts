import type { Transform, TransformCallback } from 'node:stream';

/**
 * nodemailer's SMTP DataStream dot-stuffs the message and turns bare CR or LF into CRLF, one JavaScript step per byte:
 * about a tenth of the server's CPU per W1 send, for messages that never need it (ours are CRLF-only and smtpSafe
 * rewrote every lone-dot line). This lets a chunk that needs no change pass as it is, found with native Buffer
 * searches; any chunk that does need a change still goes through nodemailer's own code, so the bytes on the wire are
 * always nodemailer's. Checked against the original byte for byte in data-stream-fast-path.spec.ts.
 */
interface DataStreamState extends Transform {
  inByteCount: number;
  outByteCount: number;
  lastByte: number | false;
}

type TransformFn = (this: DataStreamState, chunk: Buffer | string, encoding: BufferEncoding, done: TransformCallback) => void;

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** True when nodemailer would write `chunk` (after `lastByte`) exactly as it is. */
export function passesUnchanged(chunk: Buffer, lastByte: number | false): boolean {
  const first = chunk[0];
  if (lastByte === CR && first !== LF) return false;
  if (first === LF && lastByte !== CR) return false;
  if (first === DOT && (lastByte === LF || lastByte === false)) return false;
  for (let cr = chunk.indexOf(CR); cr !== -1; cr = chunk.indexOf(CR, cr + 1)) {
    if (cr + 1 < chunk.length && chunk[cr + 1] !== LF) return false;
  }
  for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
    if (lf > 0 && chunk[lf - 1] !== CR) return false;
    if (chunk[lf + 1] === DOT) return false;
  }
  return true;
}

export function fastTransform(original: TransformFn): TransformFn {
  return function transform(this: DataStreamState, chunk, encoding, done) {
    if (!Buffer.isBuffer(chunk) || !chunk.length || !passesUnchanged(chunk, this.lastByte)) {
      original.call(this, chunk, encoding, done);
      return;
    }
    this.inByteCount += chunk.length;
    this.outByteCount += chunk.length;
    this.push(chunk);
    this.lastByte = chunk[chunk.length - 1];
    done();
  };
}

const MARK = Symbol.for('mailpage.dataStreamFastPath');

/** Installs the fast path once; leaves nodemailer alone if its DataStream is not the shape this was written for. */
export function installDataStreamFastPath(): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const DataStream = require('nodemailer/lib/smtp-connection/data-stream.js') as { prototype: Record<string | symbol, unknown> };
  const proto = DataStream.prototype;
  if (proto[MARK]) return true;
  const original = proto._transform;
  if (typeof original !== 'function' || original.length !== 3) return false;
  proto._transform = fastTransform(original as TransformFn);
  proto[MARK] = original;
  return true;
}
