import { Injectable, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { DomainError } from './domain-error';

/** Turns zod issues into one VALIDATION_FAILED error whose message names every field that is wrong. */
export function validationError(error: z.ZodError, what = 'The request'): DomainError {
  const issues = error.issues.slice(0, 20).map((i) => {
    const path = i.path.map(String).join('.');
    let message = i.message;
    if (i.code === 'unrecognized_keys') message = `${path ? `${path}: ` : ''}unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    else if (path && !message.startsWith(path.split('.')[0])) message = `${path}: ${message}`;
    return { path, message };
  });
  return new DomainError('VALIDATION_FAILED', 400, `${what} is not valid: ${issues.map((i) => i.message).join('; ')}.`, { issues });
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what?: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(r.error, what);
  return r.data;
}

@Injectable()
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(private readonly schema: S) {}
  transform(value: unknown): z.output<S> {
    return parseOrThrow(this.schema, value ?? {});
  }
}
