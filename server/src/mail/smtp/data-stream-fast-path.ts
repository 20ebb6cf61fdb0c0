import type { Transform, TransformCallback } from 'node:stream';

/**
 * nodemailer's SMTP DataStream dot-stuffs the message and turns bare CR or LF into CRLF, one JavaScript step per byte:
 * about a tenth of the server's CPU per W1 send, for messages that never need it (ours are CRLF-only and smtpSafe
 * rewrote every lone-dot line). Here the lines are found with native Buffer searches: a chunk passes as it is, or
 * with a dot stuffed before each line that starts with one (quoted-printable can wrap a line just before a "."); a
 * chunk with a bare CR or LF still goes through nodemailer's own code. Checked against the original byte for byte in
 * data-stream-fast-path.spec.ts.
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
const STUFFED_DOT = Buffer.from('.');

/**
 * Where nodemailer would stuff a dot into `chunk` (after `lastByte`): the offsets of the dots that start a line, or
 * null when the chunk has a bare CR or LF (left to nodemailer's own code).
 */
export function dotsToStuff(chunk: Buffer, lastByte: number | false): number[] | null {
  const first = chunk[0];
  if (lastByte === CR && first !== LF) return null;
  if (first === LF && lastByte !== CR) return null;
  for (let cr = chunk.indexOf(CR); cr !== -1; cr = chunk.indexOf(CR, cr + 1)) {
    if (cr + 1 < chunk.length && chunk[cr + 1] !== LF) return null;
  }
  const dots: number[] = first === DOT && (lastByte === LF || lastByte === false) ? [0] : [];
  for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
    if (lf > 0 && chunk[lf - 1] !== CR) return null;
    if (chunk[lf + 1] === DOT) dots.push(lf + 1);
  }
  return dots;
}

export function fastTransform(original: TransformFn): TransformFn {
  return function transform(this: DataStreamState, chunk, encoding, done) {
    const dots = Buffer.isBuffer(chunk) && chunk.length ? dotsToStuff(chunk, this.lastByte) : null;
    if (!dots) {
      original.call(this, chunk, encoding, done);
      return;
    }
    const bytes = chunk as Buffer;
    let out = bytes;
    if (dots.length) {
      const pieces: Buffer[] = [];
      let from = 0;
      for (const dot of dots) {
        if (dot > from) pieces.push(bytes.subarray(from, dot));
        pieces.push(STUFFED_DOT);
        from = dot;
      }
      pieces.push(bytes.subarray(from));
      out = Buffer.concat(pieces, bytes.length + dots.length);
    }
    this.inByteCount += bytes.length;
    this.outByteCount += out.length;
    this.push(out);
    this.lastByte = bytes[bytes.length - 1];
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
