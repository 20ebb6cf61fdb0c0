/** A small JSON client for the service's HTTP API, as a script or the SPA would use it. */
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export function apiClient(baseUrl: string, headers: Record<string, string> | (() => Promise<Record<string, string>>)) {
  const h = async () => (typeof headers === 'function' ? headers() : headers);
  const call = async <T = any>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<ApiResponse<T>> => {
    const init: RequestInit = { method, headers: { ...(await h()), ...extra } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  };
  return {
    get: <T = any>(path: string, extra?: Record<string, string>) => call<T>('GET', path, undefined, extra),
    put: <T = any>(path: string, body: unknown, extra?: Record<string, string>) => call<T>('PUT', path, body, extra),
    post: <T = any>(path: string, body: unknown, extra?: Record<string, string>) => call<T>('POST', path, body, extra),
    delete: <T = any>(path: string, extra?: Record<string, string>) => call<T>('DELETE', path, undefined, extra),
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export type ApiClient = ReturnType<typeof apiClient>;

/** The same client, keeping the text of every response in `into`: a test later checks that no secret was in any. */
export function recording(client: ApiClient, into: string[]): ApiClient {
  const record =
    <A extends unknown[], R extends { text: string }>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const r = await f(...a);
      into.push(r.text);
      return r;
    };
  return { get: record(client.get), put: record(client.put), post: record(client.post), delete: record(client.delete) } as ApiClient;
}
