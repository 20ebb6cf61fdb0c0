import { Injectable, InjectionToken, inject } from '@angular/core';
import type { ApiError, ErrorCode } from '@mailpage/contract';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ApiRequest {
  method: HttpMethod;
  /** Path below the service root, starting with `/api/`, query string included. */
  path: string;
  /** JSON body. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface UploadOptions {
  headers?: Record<string, string>;
  /** Called with the fraction of the request body sent so far, 0 to 1. */
  onProgress?: (fraction: number) => void;
}

/**
 * How calls reach the service: through Forge's `invokeRemote` inside Confluence, or with `fetch` and sandbox-issued
 * tokens in local mode. Chosen once at start (see host.ts).
 */
export interface Transport {
  readonly kind: 'forge' | 'local';
  request<T>(req: ApiRequest): Promise<T>;
  /** Raw bytes of a response (local mode: the outbox's message/rfc822). */
  bytes?(path: string): Promise<ArrayBuffer>;
  /** Multipart upload with progress (local mode and API clients only: invokeRemote carries JSON only). */
  upload?<T>(path: string, form: FormData, opts?: UploadOptions): Promise<T>;
}

export const TRANSPORT = new InjectionToken<Transport>('mailpage.transport');

/** A failed call as the UI shows it: the server's stable code, its sentence, and its details. */
export class ApiFailure extends Error implements ApiError {
  override readonly name = 'ApiFailure';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** HTTP status; 0 when the service could not be reached at all. */
    readonly status = 0,
  ) {
    super(message);
  }
}

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  422: 'VALIDATION_FAILED',
  503: 'SERVICE_UNAVAILABLE',
};

const STATUS_SENTENCE: Record<number, string> = {
  401: 'Your session has ended. Reload the page and try again.',
  403: 'You are not allowed to do this.',
  404: 'The service does not know this request. The app may be out of date: reload the page.',
  413: 'The request is too large for the service.',
  503: 'The Mailpage service is not available right now. Try again in a minute.',
};

/** Builds the ApiError for an error answer: the server's own `{ code, message, details }` when it sent one. */
export function failureFrom(status: number, body: unknown): ApiFailure {
  if (body && typeof body === 'object') {
    const b = body as Partial<ApiError>;
    if (typeof b.code === 'string' && typeof b.message === 'string') {
      const details = b.details && typeof b.details === 'object' ? b.details : undefined;
      return new ApiFailure(b.code as ErrorCode, b.message, details, status);
    }
  }
  const code = BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_FAILED');
  const sentence = STATUS_SENTENCE[status] ?? (status >= 500 ? 'Something went wrong in the Mailpage service. Try again in a minute.' : 'The request was refused.');
  return new ApiFailure(code, `${sentence} (HTTP ${status})`, undefined, status);
}

/** Whatever a call threw, as an ApiError a template can show. */
export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiFailure) return { code: e.code, message: e.message, details: e.details };
  if (e && typeof e === 'object' && 'code' in e && 'message' in e && typeof (e as ApiError).message === 'string') return e as ApiError;
  return { code: 'INTERNAL_ERROR', message: e instanceof Error && e.message ? e.message : 'Something went wrong in this page. Reload it and try again.' };
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path;
}

/** The one way the UI talks to the service. Every method resolves with the typed answer or rejects with an ApiFailure. */
@Injectable({ providedIn: 'root' })
export class ApiClient {
  private readonly transport = inject(TRANSPORT);

  get mode(): 'forge' | 'local' {
    return this.transport.kind;
  }

  /** Uploading files from the computer needs multipart, which only the local transport (and API clients) carry. */
  get canUpload(): boolean {
    return typeof this.transport.upload === 'function';
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.transport.request<T>({ method: 'GET', path: withQuery(path, query) });
  }

  post<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.transport.request<T>({ method: 'POST', path, body: body ?? {}, headers });
  }

  put<T>(path: string, body: unknown, headers?: Record<string, string>): Promise<T> {
    return this.transport.request<T>({ method: 'PUT', path, body, headers });
  }

  delete<T = void>(path: string, query?: Query): Promise<T> {
    return this.transport.request<T>({ method: 'DELETE', path: withQuery(path, query) });
  }

  bytes(path: string): Promise<ArrayBuffer> {
    if (!this.transport.bytes) return Promise.reject(new ApiFailure('VALIDATION_FAILED', 'Raw downloads are only available in local mode.'));
    return this.transport.bytes(path);
  }

  upload<T>(path: string, form: FormData, opts?: UploadOptions): Promise<T> {
    if (!this.transport.upload) {
      return Promise.reject(new ApiFailure('VALIDATION_FAILED', 'Files from your computer can only be added in local mode; in Confluence, attach them to the page first.'));
    }
    return this.transport.upload<T>(path, form, opts);
  }
}
