import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/app-config';

const dataDir = mkdtempSync(join(tmpdir(), 'mailpage-metrics-config-'));
const production = { NODE_ENV: 'production', DATABASE_URL: 'mysql://u:p@db:3306/mailpage', MAILPAGE_SECRET_KEY: randomBytes(32).toString('base64'), FORGE_APP_ID: 'ari:cloud:ecosystem::app/x' };
const load = (env: Record<string, string>) => loadConfig({ MAILPAGE_DATA_DIR: dataDir, ...env });
function problems(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('metrics configuration', () => {
  it('listens on 9464, on this machine only in local mode and on every interface in production, without a token', () => {
    expect(load({}).metrics).toEqual({ port: 9464, host: '127.0.0.1', token: null });
    expect(load(production).metrics).toEqual({ port: 9464, host: '0.0.0.0', token: null });
  });

  it('takes a port (0 = off), a host and a token; empty values mean the defaults', () => {
    expect(load({ METRICS_PORT: '0' }).metrics.port).toBe(0);
    expect(load({ METRICS_PORT: '9100', METRICS_HOST: '10.0.0.7', METRICS_TOKEN: 'a'.repeat(32) }).metrics).toEqual({ port: 9100, host: '10.0.0.7', token: 'a'.repeat(32) });
    expect(load({ ...production, METRICS_PORT: '', METRICS_HOST: '', METRICS_TOKEN: '' }).metrics).toEqual({ port: 9464, host: '0.0.0.0', token: null });
  });

  it('refuses a short or spaced token, a bad port and the API port, without quoting the token', () => {
    const p = [...problems({ METRICS_TOKEN: 'short-secret' }), ...problems({ METRICS_TOKEN: 'has a space in it, 1234' }), ...problems({ METRICS_PORT: '70000' }), ...problems({ PORT: '8080', METRICS_PORT: '8080' })];
    expect(p).toEqual([
      'METRICS_TOKEN: must be 16 to 512 visible characters without spaces (openssl rand -hex 32)',
      'METRICS_TOKEN: must be 16 to 512 visible characters without spaces (openssl rand -hex 32)',
      'METRICS_PORT: must be a whole number from 0 to 65535',
      'METRICS_PORT: must differ from PORT (8080); 0 turns the metrics listener off',
    ]);
    expect(p.join('\n')).not.toContain('short-secret');
  });
});
