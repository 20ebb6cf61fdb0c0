// `docker compose config` needs the compose plugin, which the test machines lack: these checks read the files instead.
// `yaml` is already in node_modules (a dependency of vite and @forge/manifest); nothing is installed for this test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_VARIABLES } from '../../../server/src/config/app-config';
import { ROOT } from '../../support/server';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface ComposeService {
  build?: unknown;
  image?: string;
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  environment?: Record<string, string | null>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  profiles?: string[];
}
const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
const app = compose.services.mailpage;
const appEnv = app.environment ?? {};
/** Variables named in .env.example, set or commented out (`# NAME=...`). */
const exampleVars = [...read('.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
/** Variables the service reads only in local mode, or that the image and compose file set themselves. */
const NOT_FROM_ENV_FILE = ['NODE_ENV', 'HOST', 'PORT', 'DATABASE_URL', 'MAILPAGE_DATA_DIR', 'MAILPAGE_LOCAL_TOKEN', 'LOCAL_SMTP_PORT', 'LOCAL_SANDBOX_PORT'];

describe('docker-compose.yml', () => {
  it('runs the service built from this Dockerfile on MySQL, once MySQL is healthy, with its data on a named volume', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['mailcatcher', 'mailpage', 'mysql']);
    expect(app.build).toBe('.');
    expect(app.depends_on).toEqual({ mysql: { condition: 'service_healthy' } });
    expect(app.restart).toBe('unless-stopped');
    expect(compose.services.mysql.healthcheck?.test).toEqual(expect.arrayContaining(['mysqladmin', 'ping']));
    expect(compose.services.mysql.volumes).toEqual(['mysql-data:/var/lib/mysql']);
    expect(Object.keys(compose.volumes)).toEqual(['mysql-data']);
    expect(compose.services.mailcatcher.profiles).toEqual(['dev']);
  });

  it('gives a stopping node more than its 30 s to finish the sends under way', () => {
    const seconds = Number(/^(\d+)s$/.exec(app.stop_grace_period ?? '')?.[1]);
    expect(seconds).toBeGreaterThan(30);
  });

  it('runs in production mode with the required secrets from .env, and never hands the service the MySQL root password', () => {
    expect(appEnv.NODE_ENV).toBe('production');
    expect(appEnv.DATABASE_URL).toBe('mysql://mailpage:${MYSQL_PASSWORD:?set MYSQL_PASSWORD in .env}@mysql:3306/mailpage');
    for (const required of ['MAILPAGE_SECRET_KEY', 'FORGE_APP_ID']) expect(appEnv[required]).toMatch(new RegExp(`^\\$\\{${required}:\\?`));
    expect(JSON.stringify(app)).not.toContain('MYSQL_ROOT_PASSWORD');
  });

  it('passes every variable the service reads, except the local-mode ones, and leaves unset ones unset', () => {
    const passed = Object.keys(appEnv);
    const expected = ENV_VARIABLES.filter((v) => !['MAILPAGE_DATA_DIR', 'MAILPAGE_LOCAL_TOKEN', 'LOCAL_SMTP_PORT', 'LOCAL_SANDBOX_PORT', 'HOST'].includes(v));
    expect(expected.filter((v) => !passed.includes(v))).toEqual([]);
    // An empty string is not "unset" for every variable (FORGE_JWKS_URL= would be refused as not a URL): optional ones
    // are listed without a value, which compose leaves out of the container when .env does not set them.
    for (const [name, value] of Object.entries(appEnv)) {
      if (value !== null) expect([name, value]).toEqual([name, expect.stringMatching(/^(production|\d+|\$\{[A-Z_]+:[-?][^}]+\}|mysql:\/\/.*)$/)]);
    }
  });

  it('publishes the API, and the metrics port to this host only', () => {
    expect(app.ports).toEqual(['3000:3000', '127.0.0.1:9464:9464']);
  });
});

describe('.env.example', () => {
  it('names only variables the compose file uses, and every one it takes from .env', () => {
    const composeText = read('docker-compose.yml');
    const fromEnvFile = [...new Set([...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]*)[:?}-]/g)].map((m) => m[1]))];
    const bare = Object.entries(appEnv).flatMap(([k, v]) => (v === null ? [k] : []));
    for (const name of exampleVars) expect([name, fromEnvFile.includes(name) || bare.includes(name)]).toEqual([name, true]);
    for (const name of [...fromEnvFile, ...bare]) expect([name, exampleVars.includes(name)]).toEqual([name, true]);
    expect(exampleVars.filter((v) => NOT_FROM_ENV_FILE.includes(v))).toEqual([]);
  });

  it('leaves every secret empty or an obvious placeholder', () => {
    const set = Object.fromEntries([...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    expect(set.MAILPAGE_SECRET_KEY).toBe('');
    expect(set.FORGE_APP_ID).toBe('');
    expect(set.MYSQL_PASSWORD).toMatch(/^change-me/);
  });
});

describe('the documentation of the deployment', () => {
  it('explains every variable of .env.example in docs/OPERATIONS.md', () => {
    const ops = read('docs/OPERATIONS.md');
    expect(exampleVars.filter((v) => !ops.includes(`\`${v}\``))).toEqual([]);
  });

  it('lists every variable the service reads in the README', () => {
    const readme = read('README.md');
    expect(ENV_VARIABLES.filter((v) => !readme.includes(`\`${v}\``))).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split(/^FROM /m).slice(1);

  it('builds on Node 22 slim and runs production dependencies only, as the unprivileged node user', () => {
    expect(stages.map((s) => s.split(/\s/)[0])).toEqual(['node:22-bookworm-slim', 'node:22-bookworm-slim']);
    const [build, run] = stages;
    expect(build).toMatch(/npm prune --omit=dev/);
    expect(run).toMatch(/^USER node$/m);
    expect(run.indexOf('USER node')).toBeLessThan(run.indexOf('CMD'));
    expect(run).toMatch(/^ENV NODE_ENV=production/m);
    expect(run).not.toMatch(/npm (ci|install)/);
  });

  it('runs no install script but better-sqlite3\'s, whatever npm the image has, and checks both native modules load', () => {
    const [build, run] = stages;
    expect(build).toMatch(/apt-get install[^\n]*python3 make g\+\+/);
    expect(build).toMatch(/npm ci [^\n]*--ignore-scripts && npm rebuild better-sqlite3/);
    const allowed = Object.entries((JSON.parse(read('package.json')) as { allowScripts: Record<string, boolean> }).allowScripts).flatMap(([k, v]) => (v ? [k] : []));
    expect(allowed).toEqual(['better-sqlite3']);
    expect(run).toMatch(/require\('better-sqlite3'\)[^\n]*require\('sharp'\)/);
  });

  it('checks liveness at /healthz, on the port the service listens on', () => {
    expect(dockerfile).toMatch(/^HEALTHCHECK [^\n]*process\.env\.PORT[^\n]*\/healthz/m);
    expect(dockerfile).toMatch(/^EXPOSE 3000 9464$/m);
  });
});
