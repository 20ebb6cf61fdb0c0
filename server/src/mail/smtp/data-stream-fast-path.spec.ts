import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { dotsToStuff, installDataStreamFastPath } from './data-stream-fast-path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const DataStream = require('nodemailer/lib/smtp-connection/data-stream.js') as new () => NodeJS.ReadWriteStream & { inByteCount: number; outByteCount: number };
const ORIGINAL = Symbol.for('mailpage.dataStreamFastPath');

async function wire(chunks: Buffer[], fast: boolean): Promise<{ bytes: Buffer; inBytes: number; outBytes: number }> {
  const stream = new DataStream();
  if (!fast) {
    const original = (DataStream.prototype as unknown as Record<symbol, unknown>)[ORIGINAL] ?? (DataStream.prototype as unknown as { _transform: unknown })._transform;
    Object.defineProperty(stream, '_transform', { value: original });
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks, { objectMode: false }), stream, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  return { bytes: Buffer.concat(out), inBytes: stream.inByteCount, outBytes: stream.outByteCount };
}

describe('SMTP data fast path', () => {
  it('is installed once and keeps nodemailer\'s own code for the chunks that need a change', () => {
    expect(installDataStreamFastPath()).toBe(true);
    expect(installDataStreamFastPath()).toBe(true);
    expect((DataStream.prototype as unknown as Record<symbol, unknown>)[ORIGINAL]).toBeTypeOf('function');
  });

  it('puts exactly the bytes nodemailer would on the wire, whatever the line endings, dots and chunk boundaries', async () => {
    installDataStreamFastPath();
    const pieces = ['\r\n', '\r', '\n', '.', '..', 'a', 'line of text', '\r\n.\r\n', '=2E', ' ', '\r\r\n', '\n.'];
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let n = 0; n < 3000; n++) {
      const text = Array.from({ length: next() % 30 }, () => pieces[next() % pieces.length]).join('');
      const all = Buffer.from(text, 'latin1');
      const cuts = [0, ...Array.from({ length: next() % 4 }, () => next() % (all.length + 1)).sort((a, b) => a - b), all.length];
      const chunks = cuts.slice(1).map((end, i) => all.subarray(cuts[i], end)).filter((c) => c.length);
      const [fast, slow] = [await wire(chunks, true), await wire(chunks, false)];
      expect(fast.bytes.toString('latin1'), JSON.stringify(chunks.map((c) => c.toString('latin1')))).toBe(slow.bytes.toString('latin1'));
      expect([fast.inBytes, fast.outBytes]).toEqual([slow.inBytes, slow.outBytes]);
    }
  });

  it('passes a CRLF-only message of base64 lines through in its own chunks', async () => {
    installDataStreamFastPath();
    const line = Buffer.from(`${'QUJD'.repeat(19)}\r\n`, 'latin1');
    const chunk = Buffer.concat(Array.from({ length: 200 }, () => line));
    const { bytes } = await wire([chunk, chunk], true);
    expect(bytes.equals(Buffer.concat([chunk, chunk, Buffer.from('.\r\n')]))).toBe(true);
  });

  it('stuffs the dots that start a line itself and leaves only a bare CR or LF to nodemailer', () => {
    const crlf = Buffer.from('a=\r\n.b\r\n..c\r\nd.\r\n', 'latin1');
    expect(dotsToStuff(crlf, false)).toEqual([4, 8]);
    expect(dotsToStuff(Buffer.from('.x\r\n'), 0x0a)).toEqual([0]);
    expect(dotsToStuff(Buffer.from('.x\r\n'), 0x61)).toEqual([]);
    expect(dotsToStuff(Buffer.from('a\nb'), false)).toBeNull();
    expect(dotsToStuff(Buffer.from('a\rb'), false)).toBeNull();
    expect(dotsToStuff(Buffer.from('\nb'), 0x0d)).toEqual([]);
  });
});
