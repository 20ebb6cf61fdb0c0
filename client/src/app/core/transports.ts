import { ApiFailure, failureFrom, type ApiRequest, type Transport, type UploadOptions } from './api';

/** `invokeRemote` from @forge/bridge, injected so that tests and local mode never load the bridge. */
export type InvokeRemote = (input: { path: string; method: ApiRequest['method']; headers?: Record<string, string>; body?: unknown }) => Promise<unknown>;

/** invokeRemote refuses requests over 500 KB; say so in words before the platform does it without any. */
export const FORGE_MAX_REQUEST_BYTES = 500 * 1024;

/**
 * Inside Confluence: every call goes through Forge, which adds the invocation token and the OAuth tokens.
 * JSON only; the platform answers `{ status, headers, body }`.
 */
export class ForgeTransport implements Transport {
  readonly kind = 'forge' as const;

  constructor(private readonly invoke: InvokeRemote) {}

  async request<T>({ method, path, body, headers }: ApiRequest): Promise<T> {
    if (body !== undefined && new Blob([JSON.stringify(body)]).size > FORGE_MAX_REQUEST_BYTES) {
      throw new ApiFailure('PAYLOAD_TOO_LARGE', 'This request is larger than Confluence lets an app send (500 KB). Remove some recipients or text and try again.');
    }
    let answer: unknown;
    try {
      answer = await this.invoke({ path, method, headers: { accept: 'application/json', ...headers }, ...(body !== undefined && method !== 'GET' ? { body } : {}) });
    } catch (e) {
      throw new ApiFailure(
        'SERVICE_UNAVAILABLE',
        'Confluence could not reach the Mailpage service, or it did not answer within 25 seconds. Try again in a minute.',
        e instanceof Error && e.message ? { cause: e.message } : undefined,
      );
    }
    const r = answer as { status?: unknown; body?: unknown } | undefined;
    // Older bridges resolved with the body itself.
    if (!r || typeof r.status !== 'number') return answer as T;
    if (r.status >= 200 && r.status < 300) return r.body as T;
    throw failureFrom(r.status, r.body);
  }
}

/** Where the local transport gets the headers for each call (a sandbox-signed invocation token and OAuth tokens). */
export interface HeaderSource {
  headers(): Promise<Record<string, string>>;
  /** Called once after a 401, to fetch fresh tokens before one retry. */
  renew?(): Promise<void>;
}

const unreachable = () => new ApiFailure('SERVICE_UNAVAILABLE', 'The Mailpage service could not be reached. Check that it is running and try again.');

/** Local mode (served by the service itself at http://127.0.0.1:3000/): `fetch` to the same origin. */
export class FetchTransport implements Transport {
  readonly kind = 'local' as const;

  constructor(
    private readonly auth: HeaderSource,
    private readonly origin = globalThis.location?.origin ?? 'http://127.0.0.1:3000',
    private readonly fetchFn: typeof fetch = (...a) => globalThis.fetch(...a),
  ) {}

  async request<T>(req: ApiRequest, retried = false): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...(await this.auth.headers()), ...req.headers };
    const init: RequestInit = { method: req.method, headers, credentials: 'omit' };
    if (req.body !== undefined && req.method !== 'GET') {
      init.body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await this.fetchFn(this.url(req.path), init);
    } catch {
      throw unreachable();
    }
    if (res.status === 401 && !retried && this.auth.renew) {
      await this.auth.renew();
      return this.request<T>(req, true);
    }
    const text = await res.text();
    const parsed = parseJson(text);
    if (!res.ok) throw failureFrom(res.status, parsed);
    return parsed as T;
  }

  async bytes(path: string): Promise<ArrayBuffer> {
    let res: Response;
    try {
      res = await this.fetchFn(this.url(path), { headers: await this.auth.headers(), credentials: 'omit' });
    } catch {
      throw unreachable();
    }
    if (!res.ok) throw failureFrom(res.status, parseJson(await res.text()));
    return res.arrayBuffer();
  }

  async upload<T>(path: string, form: FormData, opts: UploadOptions = {}): Promise<T> {
    const headers = { accept: 'application/json', ...(await this.auth.headers()), ...opts.headers };
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', this.url(path));
      for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && e.total > 0) opts.onProgress?.(e.loaded / e.total);
      };
      xhr.onload = () => {
        const parsed = parseJson(xhr.responseText);
        if (xhr.status >= 200 && xhr.status < 300) {
          opts.onProgress?.(1);
          resolve(parsed as T);
        } else reject(failureFrom(xhr.status, parsed));
      };
      xhr.onerror = () => reject(unreachable());
      xhr.send(form);
    });
  }

  private url(path: string): string {
    return new URL(path, this.origin).toString();
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
