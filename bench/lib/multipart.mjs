// multipart/form-data built once into one Buffer, so the load generator spends no CPU per request on the body.
import { randomBytes } from 'node:crypto';

/** fields: [[name, value]]; files: [{ field, filename, contentType, content }] */
export function multipartBody(fields, files) {
  const boundary = `----mailpagebench${randomBytes(12).toString('hex')}`;
  const chunks = [];
  for (const [name, value] of fields) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`, 'utf8'), Buffer.from(String(value), 'utf8'), Buffer.from('\r\n'));
  }
  for (const f of files) {
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${f.field}"; filename="${f.filename}"\r\nContent-Type: ${f.contentType}\r\n\r\n`, 'utf8'),
      f.content,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The server's send request for a payload (see fixtures.readPayload) as multipart. */
export function sendRequestBody(payload, extraFields = []) {
  const fields = [['title', payload.title], ['html', payload.html], ...payload.to.map((a) => ['to', a]), ...extraFields];
  const files = [
    ...payload.images.map((i) => ({ field: 'images', filename: i.filename, contentType: i.contentType, content: i.content })),
    ...payload.attachments.map((a) => ({ field: 'attachments', filename: a.filename, contentType: a.contentType, content: a.content })),
  ];
  return multipartBody(fields, files);
}
