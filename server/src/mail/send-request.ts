import type { IncomingMessage } from 'node:http';
import { Transform, type Writable } from 'node:stream';
import { sendRequestSchema, type SendRequestParsed } from '@mailpage/contract';
import type { Request } from 'express';
import { z } from 'zod';
import { DomainError } from '../common/domain-error';
import { validationError } from '../common/zod.pipe';
import type { MailFile } from '../compose/compose.service';
import type { Uploads } from './mail.service';

const ARRAY_FIELDS = new Set(['to', 'cc', 'bcc', 'attachmentIds']);
const RECIPIENT_FIELDS = new Set(['to', 'cc', 'bcc']);

/** Files one send may carry per multipart file field (the controller's FileFieldsInterceptor uses the same numbers). */
export const UPLOAD_LIMITS = { attachments: 100, images: 100 } as const;

type MulterFiles = Record<string, Express.Multer.File[]> | undefined;

const badRequest = (message: string, status = 400) => new DomainError('VALIDATION_FAILED', status, message);

/**
 * The send request from a JSON body or from multipart text fields (arrays as repeated fields or as one JSON array),
 * validated against the same schema either way. Unknown fields (`raw`, `headers`, `envelope`, ...) are refused.
 */
export function parseSendRequest(req: Request): SendRequestParsed {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const isMultipart = type.startsWith('multipart/form-data');
  // Any other body type is not parsed at all: answering from an empty body would misstate what is wrong.
  if (!isMultipart && !/^application\/json\s*(?:;|$)/.test(type)) {
    throw badRequest('The request body must be JSON (Content-Type: application/json) or multipart/form-data.', 415);
  }
  const body = isMultipart ? multipartFields(req.body) : (req.body ?? {});
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('The request body must be a JSON object.');
  }
  const r = sendRequestSchema.safeParse(body);
  if (!r.success) throw validationError(new z.ZodError(r.error.issues.map(readableIssue)));
  return r.data;
}

/**
 * multer's text fields as the schema reads them. Built on a null-prototype object, so that a field named
 * `__proto__` is a field like any other (and refused as unknown) rather than a prototype.
 */
function multipartFields(raw: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    const values = Array.isArray(v) ? v : [v];
    // multer turns names like `to[0][accountId]` into nested objects; a send has only flat text fields.
    if (!values.every((item): item is string => typeof item === 'string')) {
      throw badRequest(`The multipart field "${k}" has nested parts (a name such as ${k}[0][x]); send each value as a plain field named "${k}", or a list as one JSON array.`);
    }
    if (!ARRAY_FIELDS.has(k)) {
      if (values.length > 1) throw badRequest(`The multipart field "${k}" is given ${values.length} times; give it once.`);
      fields[k] = values[0];
      continue;
    }
    fields[k] = values.flatMap((item) => {
      const text = item.trim();
      if (!text.startsWith('[') && !(RECIPIENT_FIELDS.has(k) && text.startsWith('{'))) return [item];
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw badRequest(`The request is not valid: ${k} starts like JSON but is not valid JSON.`);
      }
      return Array.isArray(parsed) ? parsed : [parsed];
    });
  }
  return fields;
}

/** A recipient that is neither an address nor a known object: say what a recipient is, not which union branch failed. */
function readableIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  const [field, index] = issue.path;
  if (issue.code !== 'invalid_union' || typeof field !== 'string' || !RECIPIENT_FIELDS.has(field) || typeof index !== 'number') return issue;
  // An object with one of the known keys gets the messages of that kind of recipient (e.g. `accountId` is empty).
  const branch = issue.errors.find((errors) => errors.length && errors.every((e) => e.path.length > 0 && e.code !== 'unrecognized_keys'));
  if (branch) return { ...branch[0], path: [...issue.path, ...branch[0].path] } as z.core.$ZodIssue;
  return {
    code: 'custom',
    path: issue.path,
    message: `${field}[${index}] must be an address such as "ann@example.com" or an object such as {"accountId": "…"} or {"group": "…"}`,
    input: undefined,
  } as z.core.$ZodIssue;
}

/**
 * multer's `streamHandler`: feeds the multipart body to busboy only up to `maxBytes` (the JSON body limit), so the
 * files of one request can never take more memory than that. multer's own limits are per file and per count; without
 * this, 200 files of MAIL_MAX_BYTES each would all be held before any of them is looked at. Past the limit busboy gets
 * an error shaped like body-parser's (`entity.too.large`), which the error filter answers as 413 with the sizes.
 */
export function multipartByteLimit(maxBytes: number): (req: IncomingMessage, busboy: Writable) => void {
  const tooLarge = (length: number | null) =>
    Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413, statusCode: 413, expose: true, limit: maxBytes, length });
  return (req, busboy) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      busboy.destroy(tooLarge(declared));
      return;
    }
    let seen = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        seen += chunk.length;
        if (seen <= maxBytes) return callback(null, chunk);
        req.unpipe(counter);
        callback(tooLarge(null));
      },
    });
    counter.on('error', (e) => busboy.destroy(e));
    req.pipe(counter).pipe(busboy);
  };
}

export function uploadsFrom(files: MulterFiles): Uploads {
  const map = (f: Express.Multer.File): MailFile => ({ filename: f.originalname, contentType: f.mimetype || 'application/octet-stream', content: f.buffer });
  return { images: (files?.images ?? []).map(map), attachments: (files?.attachments ?? []).map(map) };
}

export function idempotencyKeyFrom(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(value)) {
    throw new DomainError('VALIDATION_FAILED', 400, 'The Idempotency-Key header must be 1-128 letters, digits, dots, dashes, underscores or colons (a UUID is a good key).');
  }
  return value;
}
