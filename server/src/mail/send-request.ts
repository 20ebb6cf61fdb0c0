import { sendRequestSchema, type SendRequestParsed } from '@mailpage/contract';
import type { Request } from 'express';
import { DomainError } from '../common/domain-error';
import { parseOrThrow } from '../common/zod.pipe';
import type { MailFile } from '../compose/compose.service';
import type { Uploads } from './mail.service';

const ARRAY_FIELDS = new Set(['to', 'cc', 'bcc', 'attachmentIds']);

type MulterFiles = Record<string, Express.Multer.File[]> | undefined;

/**
 * The send request from a JSON body or from multipart text fields (arrays as repeated fields or as one JSON array),
 * validated against the same schema either way. Unknown fields (`raw`, `headers`, `envelope`, ...) are refused.
 */
export function parseSendRequest(req: Request): SendRequestParsed {
  const isMultipart = (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/');
  let body: unknown = req.body ?? {};
  if (isMultipart) {
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries((req.body ?? {}) as Record<string, string | string[]>)) {
      if (!ARRAY_FIELDS.has(k)) {
        fields[k] = Array.isArray(v) ? v[v.length - 1] : v;
        continue;
      }
      const values = Array.isArray(v) ? v : [v];
      fields[k] = values.flatMap((item) => {
        if (item.trim().startsWith('[')) {
          try {
            return JSON.parse(item) as unknown[];
          } catch {
            throw new DomainError('VALIDATION_FAILED', 400, `The request is not valid: ${k} is not a JSON array.`);
          }
        }
        return item.trim().startsWith('{') ? [JSON.parse(item) as unknown] : [item];
      });
    }
    body = fields;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new DomainError('VALIDATION_FAILED', 400, 'The request body must be a JSON object.');
  }
  return parseOrThrow(sendRequestSchema, body);
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
