// Closed-loop HTTP load: `concurrency` clients, each sending its next request when the last one answered, until
// `count` requests are done or `timeLimitMs` has passed. Bodies are prebuilt buffers; sockets are kept alive.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';

/**
 * make(i) -> { method?, path, headers, body (Buffer) }; an answer with `okStatus` counts as done, anything else as
 * an error (status and first message kept). Stops early after `maxErrors` errors.
 */
export async function runLoad({ baseUrl, count, concurrency, make, timeLimitMs, okStatus = 200, maxErrors = 20, onDone }) {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  const errors = {};
  let firstError = null;
  let errorCount = 0;
  let next = 0;
  let timedOut = false;
  const started = performance.now();
  const deadline = started + timeLimitMs;

  const one = (i) =>
    new Promise((resolve) => {
      const r = make(i);
      const t0 = performance.now();
      const req = request(
        { host: url.hostname, port: url.port, method: r.method ?? 'POST', path: r.path, agent, headers: { ...r.headers, 'content-length': r.body ? r.body.length : 0 } },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0, body: Buffer.concat(chunks) }));
          res.on('error', (e) => resolve({ status: 0, ms: performance.now() - t0, body: Buffer.from(String(e)) }));
        },
      );
      req.on('error', (e) => resolve({ status: 0, ms: performance.now() - t0, body: Buffer.from(String(e.message)) }));
      req.setTimeout(60_000, () => req.destroy(new Error('request timed out after 60 s')));
      req.end(r.body);
    });

  const worker = async () => {
    for (;;) {
      if (next >= count || errorCount >= maxErrors) return;
      if (performance.now() > deadline) {
        timedOut = true;
        return;
      }
      const i = next++;
      const res = await one(i);
      if (res.status === okStatus) {
        latencies.push(res.ms);
        onDone?.(i);
      } else {
        errorCount++;
        errors[res.status] = (errors[res.status] ?? 0) + 1;
        firstError ??= `${res.status} ${res.body.toString('utf8').slice(0, 300)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return { ok: latencies.length, errorCount, errors, firstError, timedOut, elapsedMs, latencies };
}

/** One JSON request; throws with the server's message unless the status is `expect`. */
export async function api(baseUrl, method, path, headers, body, expect = 200) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (expect !== null && res.status !== expect) {
    const err = new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    err.status = res.status;
    err.body = json;
    throw err;
  }
  return { status: res.status, json };
}

export const idempotencyKey = () => randomUUID();
