import { createServer, type Server, type Socket } from 'node:net';
import { apiClient, bearer, type ApiResponse } from './api';
import type { RunningServer } from './server';

export type Api = ReturnType<typeof apiClient>;

export const localAdmin = (server: RunningServer): Api => apiClient(server.url, bearer(server.localToken));

/** Points the local tenant at a plain SMTP server on 127.0.0.1 (no TLS, no login): a fault server of the test's. */
export async function useSmtpServer(api: Api, port: number): Promise<void> {
  const r = await api.put('/api/settings/mail', {
    senderName: 'Reliability',
    senderAddress: 'docs@example.com',
    subjectPrefix: '',
    server: { mode: 'custom', host: '127.0.0.1', port, security: 'none', auth: { type: 'none' } },
  });
  if (r.status !== 200) throw new Error(`saving the mail settings failed: ${r.status} ${r.text}`);
}

export interface TimedResponse<T = any> extends ApiResponse<T> {
  ms: number;
}

/** One small mail, the way a script sends it; `key` becomes the Idempotency-Key. */
export async function sendMail(api: Api, key: string | null, to: string[] = ['ann@example.com']): Promise<TimedResponse> {
  const started = Date.now();
  const r = await api.post('/api/mail/send', { title: `Reliability ${key ?? ''}`, html: '<p>Reliability check</p>', to }, key ? { 'idempotency-key': key } : {});
  return { ...r, ms: Date.now() - started };
}

export interface SilentServer {
  port: number;
  readonly connections: number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 that accepts connections and never says a word: a hung mail server. */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return {
    port,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; answers whether it did. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
