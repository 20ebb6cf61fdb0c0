import { Readable } from 'node:stream';

/**
 * The message in one Buffer, written into one allocation as it streams out: nodemailer's build() keeps every chunk
 * and then concatenates them, two copies of a big mail at once. The estimate is generous; should a message outgrow it
 * anyway, the rest is appended.
 */
export async function collect(stream: Readable, estimate: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(estimate);
  let at = 0;
  const more: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (!more.length && at + chunk.length <= out.length) at += chunk.copy(out, at);
    else more.push(chunk);
  }
  return more.length ? Buffer.concat([out.subarray(0, at), ...more]) : out.subarray(0, at);
}

/** Base64 with CRLF every 76 characters for the files, quoted-printable at its worst for the bodies, room for headers. */
export function estimatedSize(files: number[], bodies: string[], recipients: number): number {
  const base64 = files.reduce((sum, n) => sum + Math.ceil(n / 3) * 4 + 2 * Math.ceil(n / 57), 0);
  const qp = Math.ceil(3.1 * bodies.reduce((sum, b) => sum + Buffer.byteLength(b), 0));
  return base64 + qp + 64 * 1024 + 1024 * files.length + 512 * recipients;
}

/** A multiple of 3, so that no base64 group spans two slices. */
const SLICE_BYTES = 3 * 16 * 1024;

/**
 * nodemailer base64-encodes a Buffer in one piece: a 20 MB attachment became a 27 MB string, a Buffer of it and a
 * wrapped copy at once. Handed over in slices (views, not copies) it is encoded slice by slice. A fresh stream for
 * every message: a split send builds the same attachment into several.
 */
export function encodable(content: Buffer): Buffer | Readable {
  if (content.length <= 4 * SLICE_BYTES) return content;
  return Readable.from(
    (function* slices() {
      for (let at = 0; at < content.length; at += SLICE_BYTES) yield content.subarray(at, at + SLICE_BYTES);
    })(),
    { objectMode: false },
  );
}
