// The moving parts a bench run needs, all on 127.0.0.1: Postfix smtp-sink peers, a scratch MariaDB database, a
// throw-away TLS CA, the Confluence sandbox behind an HTTPS front, and the built server as a child process.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const require = createRequire(join(ROOT, 'package.json'));

/** Where the server build the bench runs lives: the repository, or a snapshot of its dist/ (see snapshotBuild). */
export let BUILD = ROOT;
const main = () => join(BUILD, 'dist/server/src/main.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Everything started here, stopped in reverse order by `cleanup()` (also on Ctrl-C). */
const cleanups = [];
export function onCleanup(fn) {
  cleanups.push(fn);
}
export async function cleanup() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (e) {
      process.stderr.write(`cleanup: ${e?.message ?? e}\n`);
    }
  }
}

export async function freePort() {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function waitForPort(port, deadlineMs) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise((res) => {
      const s = createNetServer();
      s.once('error', () => res(true)); // in use: somebody listens
      s.listen(port, '127.0.0.1', () => s.close(() => res(false)));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await sleep(50);
  }
}

/** `npm run build` only when dist/ lacks the server entry point. */
export function ensureBuilt() {
  if (existsSync(join(ROOT, 'dist/server/src/main.js'))) return false;
  process.stderr.write('dist/ is missing: running npm run build\n');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  return true;
}

/**
 * Copies dist/ (and the SPA build) into `dir`, with node_modules linked, and runs everything from there: a rebuild
 * in the working tree while the bench runs (someone else's `npm test`) neither breaks nor changes what is measured.
 */
export function snapshotBuild(dir, from = ROOT) {
  if (!existsSync(join(from, 'dist/server/src/main.js'))) throw new Error(`${from} has no dist/server/src/main.js`);
  mkdirSync(join(dir, 'client/dist/mailpage'), { recursive: true });
  cpSync(join(from, 'dist'), join(dir, 'dist'), { recursive: true });
  const spa = join(from, 'client/dist/mailpage/browser');
  if (existsSync(spa)) cpSync(spa, join(dir, 'client/dist/mailpage/browser'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  BUILD = dir;
  return dir;
}

/**
 * A Postfix smtp-sink: accepts every message and discards it. `-c` prints running counters ("mesg=N") that tell how
 * many messages it really took; -m raises the connection cap above what the server's pools can open.
 */
export async function startSink(dir) {
  const port = await freePort();
  const args = ['-c', '-m', '2000', '-t', '120'];
  if (process.getuid?.() === 0) args.push('-u', 'nobody'); // smtp-sink refuses to run as root without it
  // The counters go to a file: into a pipe smtp-sink writes them only when it exits.
  const counterFile = join(dir, `sink-${port}.out`);
  const fd = openSync(counterFile, 'w');
  const child = spawn('/usr/sbin/smtp-sink', [...args, `127.0.0.1:${port}`, '1000'], { stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  let err = '';
  child.stderr.on('data', (d) => (err += d.toString()));
  const exited = new Promise((res) => child.once('exit', res));
  try {
    await waitForPort(port, 5000);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`smtp-sink did not start: ${err || e.message}`);
  }
  const sink = {
    port,
    pid: child.pid,
    /** Messages received so far (the sink's own counter). */
    messages: () => {
      const text = readFileSync(counterFile, 'latin1');
      const all = [...text.slice(-400).matchAll(/mesg=(\d+)/g)];
      return all.length ? Number(all[all.length - 1][1]) : 0;
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(2000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
  onCleanup(sink.stop);
  return sink;
}

/** A fresh database on the local MariaDB; dropped at cleanup. */
export async function createDatabase(name = 'mailpage_bench') {
  const { createConnection } = require('mysql2/promise');
  const admin = 'mysql://root@127.0.0.1:3306';
  const conn = await createConnection(admin);
  await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await conn.end();
  const drop = async () => {
    const c = await createConnection(admin);
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await c.end();
  };
  onCleanup(drop);
  return { url: `${admin}/${name}`, name, drop };
}

/** Row counts, to check the server wrote what the bench expects (and nothing piles up that should not). */
export async function tableCounts(url, tables) {
  const { createConnection } = require('mysql2/promise');
  const conn = await createConnection(url);
  try {
    const out = {};
    for (const t of tables) {
      const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM \`${t}\``);
      out[t] = Number(rows[0].n);
    }
    return out;
  } finally {
    await conn.end();
  }
}

/** A CA and a certificate for 127.0.0.1 made by the openssl CLI; files in `dir`. */
export function makeTlsCa(dir) {
  const f = (n) => join(dir, n);
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=Mailpage Bench CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', '2', '-extfile', f('server.ext'), '-out', f('server.pem'));
  return { caFile: f('ca.pem'), cert: readFileSync(f('server.pem')), key: readFileSync(f('server.key')) };
}

/**
 * The Confluence sandbox (the built one from dist/) in this process, plus an HTTPS front that forwards to it.
 * Production trusts only https API hosts named in FORGE_API_HOSTS, so tokens carry the HTTPS front as apiBaseUrl and
 * the server trusts the bench CA through NODE_EXTRA_CA_CERTS; no production check is bypassed.
 */
export async function startSandbox(tls) {
  const { ConfluenceSandbox } = require(join(BUILD, 'dist/server/src/local/sandbox/confluence-sandbox.js'));
  const demo = require(join(BUILD, 'dist/server/src/local/sandbox/demo-site.js'));
  const sandbox = await new ConfluenceSandbox().start();
  const target = new URL(sandbox.origin);
  const front = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise((res, rej) => {
    front.once('error', rej);
    front.listen(0, '127.0.0.1', res);
  });
  const httpsOrigin = `https://127.0.0.1:${front.address().port}`;
  const stop = async () => {
    await new Promise((res) => front.close(() => res()));
    front.closeAllConnections?.();
    await sandbox.stop();
  };
  onCleanup(stop);
  return {
    sandbox,
    demo,
    jwksUrl: `${sandbox.origin}/.well-known/jwks.json`,
    apiBaseUrl: `${httpsOrigin}/ex/confluence/${demo.DEMO_CLOUD_ID}`,
    stop,
  };
}

/**
 * Starts `node dist/server/src/main.js` with exactly `env` (plus PATH and HOME) and waits for /readyz.
 * `preload`: a -r module (the CPU profiling hook).
 */
export async function startServer(env, { preload, nodeArgs = [] } = {}) {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const childEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(port), ...env };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
  const args = [...nodeArgs, ...(preload ? ['-r', preload] : []), main()];
  const child = spawn(process.execPath, args, { cwd: BUILD, env: childEnv, stdio: ['ignore', 'pipe', 'pipe', ...(preload ? ['ipc'] : [])] });
  child.channel?.unref();
  let out = '';
  const keep = (d) => {
    out = (out + d.toString()).slice(-64 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let stopping = false;
  const exited = new Promise((res) =>
    child.once('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`server pid ${child.pid} exited unexpectedly (code ${code}, signal ${signal})\n${out.slice(-2000)}\n`);
      res(code ?? signal);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${out}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok && (env.NODE_ENV === 'production' || /Local admin token/.test(out))) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not become ready:\n${out}`);
    }
    await sleep(100);
  }
  const server = {
    url,
    port,
    pid: child.pid,
    child,
    output: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
    /** Sends `msg` over the IPC channel (preload hooks only) and waits for an answer starting with one of `prefixes`. */
    ask: (msg, prefixes, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`server did not answer ${msg}`)), timeoutMs);
        const onMessage = (m) => {
          if (typeof m === 'string' && prefixes.some((p) => m.startsWith(p))) done(null, m);
        };
        const done = (err, m) => {
          clearTimeout(timer);
          child.off('message', onMessage);
          if (err) reject(err);
          else resolve(m);
        };
        child.on('message', onMessage);
        child.send(msg);
      }),
    stop: async () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const r = await Promise.race([exited, sleep(15_000).then(() => 'timeout')]);
      if (r === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  onCleanup(server.stop);
  return server;
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
