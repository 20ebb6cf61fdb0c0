// Preloaded into the server by the bench only (node -r); the server's code is not changed. Over the IPC channel
// the bench opened it answers:
//   "profile:start" / "profile:stop": a CPU profile of just the measured window, written to
//       $BENCH_PROFILE_DIR/<n>.cpuprofile in the format `node --cpu-prof` writes;
//   "stats": counters since start: database statements by kind (mysql2 query/execute) and outgoing TCP connections
//       by remote port (net.connect), as "stats {json}".
// (IPC, not signals: Nest's shutdown hooks treat SIGUSR2 and the like as "shut down".)
const inspector = require('node:inspector');
const net = require('node:net');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const stats = { db: {}, connections: {} };

try {
  // By file path: mysql2's package "exports" hide lib/; the module cache is keyed by the same path either way.
  const Connection = require(join(require.resolve('mysql2', { paths: [process.cwd()] }), '..', 'lib/base/connection.js'));
  for (const method of ['query', 'execute']) {
    const original = Connection.prototype[method];
    Connection.prototype[method] = function (sql, ...rest) {
      const text = typeof sql === 'string' ? sql : (sql?.sql ?? '');
      const kind = (/^\s*(\w+)/.exec(text)?.[1] ?? '?').toUpperCase();
      stats.db[kind] = (stats.db[kind] ?? 0) + 1;
      return original.call(this, sql, ...rest);
    };
  }
} catch {
  /* no mysql2 in this build: no database counters */
}

for (const name of ['connect', 'createConnection']) {
  const original = net[name];
  net[name] = function (...args) {
    const o = args[0];
    const port = typeof o === 'object' && o !== null ? o.port : typeof o === 'number' || typeof o === 'string' ? o : undefined;
    if (port !== undefined) stats.connections[port] = (stats.connections[port] ?? 0) + 1;
    return original.apply(this, args);
  };
}

if (process.send) {
  process.channel?.unref();
  const dir = process.env.BENCH_PROFILE_DIR;
  let session = null;
  let n = 0;
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  const reply = (m) => process.send?.(m);
  process.on('message', (msg) => {
    if (msg === 'stats') return reply(`stats ${JSON.stringify(stats)}`);
    if (msg === 'profile:start') {
      if (!dir) return reply('profile:error BENCH_PROFILE_DIR is not set');
      if (!session) {
        session = new inspector.Session();
        session.connect();
      }
      post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: 500 }))
        .then(() => post('Profiler.start'))
        .then(() => reply('profile:started'))
        .catch((e) => reply(`profile:error ${e.message}`));
    } else if (msg === 'profile:stop') {
      post('Profiler.stop')
        .then(({ profile }) => {
          const file = join(dir, `${++n}.cpuprofile`);
          writeFileSync(file, JSON.stringify(profile));
          reply(`profile:written ${file}`);
        })
        .catch((e) => reply(`profile:error ${e.message}`));
    }
  });
}
