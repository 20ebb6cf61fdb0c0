import type { ErrorCode } from '@mailpage/contract';
import { DomainError } from '../common/domain-error';
import type { PageInput, RenderedPage } from './compose.service';

/** What crosses between RenderPool and a render worker: a task, and its answer. Structured clone, so no classes. */
export interface RenderTask {
  id: number;
  input: PageInput;
}
export type RenderAnswer = { id: number; page: RenderedPage } | { id: number; error: WireError };
export type WireError = { domain: true; code: string; status: number; message: string; details?: Record<string, unknown> } | { domain: false; message: string };

/** Buffers arrive from a thread as plain Uint8Arrays. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function revivePage(page: RenderedPage): RenderedPage {
  return { ...page, inline: page.inline.map((part) => ({ ...part, content: asBuffer(part.content) })) };
}

export function reviveInput(input: PageInput): PageInput {
  const layout = input.layout?.logo ? { ...input.layout, logo: { ...input.layout.logo, content: asBuffer(input.layout.logo.content) } } : input.layout;
  return { ...input, layout, images: input.images.map((file) => ({ ...file, content: asBuffer(file.content) })) };
}

export function toWireError(e: unknown): WireError {
  if (e instanceof DomainError) return { domain: true, code: e.code, status: e.status, message: e.message, details: e.details };
  return { domain: false, message: e instanceof Error ? e.message : 'the page could not be rendered' };
}

export function reviveError(e: WireError): Error {
  return e.domain ? new DomainError(e.code as ErrorCode, e.status, e.message, e.details) : new Error(e.message);
}
