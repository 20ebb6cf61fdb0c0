import { it } from 'vitest';
import { SmtpPool } from './smtp-pool.service';
import { createTestCa } from '../../../../test/support/tls';
import { startTestSmtpServer } from '../../../../test/support/smtp';

it('timing', async () => {
  const ca = createTestCa();
  for (const tls of [true, false]) {
    const s = await startTestSmtpServer(tls ? { tls: { key: ca.keyPem, cert: ca.certPem }, users: { u: 'p' } } : {});
    const p = new SmtpPool({ allowPrivateHosts: true, connectionTimeoutMs: 3000, greetingTimeoutMs: 3000, socketTimeoutMs: 5000, maxPools: 5, resolver: async () => ['127.0.0.1'] });
    const t = { key: 'k', host: 'localhost', port: s.port, security: (tls ? 'starttls' : 'none') as any, auth: tls ? { user: 'u', pass: 'p' } : null, trustedCa: ca.caPem };
    let t0 = Date.now();
    await p.verify(t);
    while (s.openConnectionCount > 0) await new Promise((r) => setTimeout(r, 20));
    console.log('tls', tls, 'verify closed after', Date.now() - t0);
    await p.send(t, { from: 'a@example.com', to: ['b@example.com'] }, Buffer.from('Subject: x\r\n\r\nx\r\n'));
    t0 = Date.now();
    await p.close();
    while (s.openConnectionCount > 0) await new Promise((r) => setTimeout(r, 20));
    console.log('tls', tls, 'pool closed after', Date.now() - t0);
    await s.close();
  }
}, 60000);
