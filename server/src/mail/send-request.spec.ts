import { createServer, request, type Server } from 'node:http';
import multer from 'multer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipartByteLimit } from './send-request';

/** multer as the app registers it, with the byte limit as its stream handler; answers what multer made of the body. */
describe('a multipart body over the request limit', () => {
  const LIMIT = 256 * 1024;
  let server: Server;
  let port: number;
  const held: number[] = [];
  beforeAll(async () => {
    // Memory storage that counts what it was given to hold (multer drops the buffers of a failed request).
    const memory = multer.memoryStorage();
    let stored = 0;
    const storage: multer.StorageEngine = {
      _handleFile: (req, file, cb) => memory._handleFile(req, file, (err, info) => ((stored += info?.size ?? 0), cb(err, info))),
      _removeFile: (req, file, cb) => memory._removeFile(req, file, cb),
    };
    const upload = multer({ storage, limits: { fileSize: 1024 * 1024, files: 200 }, streamHandler: multipartByteLimit(LIMIT) } as multer.Options).any();
    server = createServer((req, res) => {
      stored = 0;
      upload(req as never, res as never, (err?: unknown) => {
        const files = stored;
        held.push(files);
        const e = err as { type?: string; limit?: number; length?: number | null } | undefined;
        res.end(JSON.stringify(e ? { type: e.type, limit: e.limit, length: e.length } : { ok: true, files }));
      });
    });
    port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const post = (files: number, size: number, chunked: boolean) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const b = 'lim1t';
      const parts = Array.from({ length: files }, (_, i) => Buffer.concat([Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="f"; filename="${i}.bin"\r\n\r\n`), Buffer.alloc(size, 1), Buffer.from('\r\n')]));
      const body = Buffer.concat([...parts, Buffer.from(`--${b}--\r\n`)]);
      const req = request({ host: '127.0.0.1', port, method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${b}`, ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(body.length) }) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(JSON.parse(text)));
      });
      req.on('error', reject);
      for (let at = 0; at < body.length; at += 16 * 1024) req.write(body.subarray(at, at + 16 * 1024));
      req.end();
    });

  it('passes a body within the limit', async () => {
    expect(await post(3, 50 * 1024, true)).toEqual({ ok: true, files: 3 * 50 * 1024 });
  });

  it('refuses a declared Content-Length over the limit before reading a byte of it', async () => {
    const r = await post(20, 50 * 1024, false);
    expect(r).toMatchObject({ type: 'entity.too.large', limit: LIMIT });
    expect(r.length).toBeGreaterThan(LIMIT);
    expect(held.at(-1)).toBe(0);
  });

  it('stops a chunked body at the limit, holding no more than the limit in files', async () => {
    expect(await post(20, 50 * 1024, true)).toEqual({ type: 'entity.too.large', limit: LIMIT, length: null });
    expect(held.at(-1)).toBeLessThanOrEqual(LIMIT);
  });
});
