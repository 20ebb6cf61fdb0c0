import type { ErrorCode } from '@mailpage/contract';
import { DomainError } from '../common/domain-error';
import type { ProtectedMail, ProtectOptions } from '../crypto/mail-crypto.service';
import type { BuiltMessage, MessageHeaders, PageInput, RenderedMail, RenderedPage } from './compose.service';

/**
 * What crosses between RenderPool and a worker: a task, and its answer. Structured clone, so no classes: Buffers
 * arrive as plain Uint8Arrays and Dates as Dates.
 * - page: render a page (ComposeService.renderPage);
 * - build: one RFC 5322 message of a rendered mail (ComposeService.buildMessage);
 * - protect: sign and/or encrypt a message (MailCryptoService.protectHere) as of `now`.
 */
export type RenderTask =
  | { id: number; kind: 'page'; input: PageInput }
  | { id: number; kind: 'build'; mail: RenderedMail; headers: MessageHeaders }
  | { id: number; kind: 'protect'; raw: Buffer; options: ProtectOptions; now: Date };
export type TaskKind = RenderTask['kind'];

/** What each kind of task answers with. */
export interface TaskResults {
  page: RenderedPage;
  build: BuiltMessage;
  protect: ProtectedMail[];
}

export type RenderAnswer = { id: number; value: TaskResults[TaskKind] } | { id: number; error: WireError };
export type WireError = { domain: true; code: string; status: number; message: string; details?: Record<string, unknown> } | { domain: false; message: string };

/** Buffers arrive from a thread as plain Uint8Arrays. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A result as the event loop uses it: its bytes as Buffers again. */
export function reviveResult<K extends TaskKind>(kind: K, value: TaskResults[K]): TaskResults[K] {
  switch (kind) {
    case 'page': {
      const page = value as RenderedPage;
      return { ...page, inline: page.inline.map((part) => ({ ...part, content: asBuffer(part.content) })) } as TaskResults[K];
    }
    case 'build': {
      const built = value as BuiltMessage;
      return { ...built, raw: asBuffer(built.raw) } as TaskResults[K];
    }
    default:
      return (value as ProtectedMail[]).map((m) => ({ ...m, raw: asBuffer(m.raw) })) as TaskResults[K];
  }
}

/** A task as the worker uses it: its bytes as Buffers again. */
export function reviveTask(task: RenderTask): RenderTask {
  switch (task.kind) {
    case 'page':
      return { ...task, input: reviveInput(task.input) };
    case 'build': {
      const mail = task.mail;
      const files = (list: RenderedMail['attachments']) => list.map((file) => ({ ...file, content: asBuffer(file.content) }));
      return { ...task, mail: { ...mail, inline: mail.inline.map((part) => ({ ...part, content: asBuffer(part.content) })), attachments: files(mail.attachments) } };
    }
    case 'protect': {
      const signer = task.options.signer?.method === 'smime' ? { ...task.options.signer, p12: asBuffer(task.options.signer.p12) } : task.options.signer;
      return { ...task, raw: asBuffer(task.raw), options: { ...task.options, signer } };
    }
  }
}

export function reviveInput(input: PageInput): PageInput {
  const layout = input.layout?.logo ? { ...input.layout, logo: { ...input.layout.logo, content: asBuffer(input.layout.logo.content) } } : input.layout;
  return { ...input, layout, images: input.images.map((file) => ({ ...file, content: asBuffer(file.content) })) };
}

/**
 * The ArrayBuffers a worker can hand over instead of copying: those of the messages it made for this task, which
 * nothing on its side keeps. Small Buffers may sit in Node's shared pool, so they are copied as usual.
 */
export function transferList(kind: TaskKind, value: TaskResults[TaskKind]): ArrayBuffer[] {
  const raws = kind === 'build' ? [(value as BuiltMessage).raw] : kind === 'protect' ? (value as ProtectedMail[]).map((m) => m.raw) : [];
  const own = raws.filter((raw) => raw.buffer instanceof ArrayBuffer && raw.buffer.byteLength > Buffer.poolSize).map((raw) => raw.buffer as ArrayBuffer);
  return [...new Set(own)];
}

export function toWireError(e: unknown): WireError {
  if (e instanceof DomainError) return { domain: true, code: e.code, status: e.status, message: e.message, details: e.details };
  return { domain: false, message: e instanceof Error ? e.message : 'the page could not be rendered' };
}

export function reviveError(e: WireError): Error {
  return e.domain ? new DomainError(e.code as ErrorCode, e.status, e.message, e.details) : new Error(e.message);
}
