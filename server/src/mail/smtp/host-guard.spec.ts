import { describe, expect, it } from 'vitest';
import { DomainError } from '../../common/domain-error';
import { checkSmtpHost, classifyAddress, type HostResolver } from './host-guard';

const PUBLIC_IP = '93.184.216.34';
const resolvesTo =
  (...addresses: string[]): HostResolver =>
  async () =>
    addresses;
const publicOnly = { allowPrivateHosts: false, resolver: resolvesTo(PUBLIC_IP) };

async function refusal(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}

describe('SMTP host guard', () => {
  it('connects a public host name to the address it resolves to and checks the certificate against the name', async () => {
    await expect(checkSmtpHost('smtp.example.com', 587, publicOnly)).resolves.toEqual({ ip: PUBLIC_IP, servername: 'smtp.example.com' });
  });

  it('accepts a public IP address typed as the host, with no name to check a certificate against', async () => {
    await expect(checkSmtpHost(PUBLIC_IP, 465, publicOnly)).resolves.toEqual({ ip: PUBLIC_IP, servername: undefined });
    await expect(checkSmtpHost('2606:2800:220:1:248:1893:25c8:1946', 25, publicOnly)).resolves.toMatchObject({ servername: undefined });
  });

  it('normalises the typed name: case, surrounding spaces, a trailing dot and international names', async () => {
    await expect(checkSmtpHost('  SMTP.Example.COM. ', 587, publicOnly)).resolves.toMatchObject({ servername: 'smtp.example.com' });
    await expect(checkSmtpHost('mail.bücher.de', 587, publicOnly)).resolves.toMatchObject({ servername: 'mail.xn--bcher-kva.de' });
  });

  it('prefers an IPv4 address when a name has both', async () => {
    const resolver = resolvesTo('2606:2800:220:1:248:1893:25c8:1946', PUBLIC_IP);
    await expect(checkSmtpHost('smtp.example.com', 587, { allowPrivateHosts: false, resolver })).resolves.toMatchObject({ ip: PUBLIC_IP });
  });

  const refused: Array<[string, string]> = [
    ['loopback', '127.0.0.1'],
    ['loopback', '127.255.0.9'],
    ['loopback', '::1'],
    ['private', '10.1.2.3'],
    ['private', '172.16.0.1'],
    ['private', '172.31.255.255'],
    ['private', '192.168.1.10'],
    ['private', 'fd12:3456::1'],
    ['private', 'fc00::1'],
    ['link-local', '169.254.169.254'],
    ['link-local', '169.254.0.1'],
    ['link-local', 'fe80::1'],
    ['link-local', 'fe80::1%eth0'],
    ['shared', '100.64.0.1'],
    ['shared', '100.127.255.254'],
    ['multicast', '224.0.0.1'],
    ['multicast', '239.255.255.250'],
    ['multicast', 'ff02::1'],
    ['unspecified', '0.0.0.0'],
    ['unspecified', '0.1.2.3'],
    ['unspecified', '::'],
    ['broadcast', '255.255.255.255'],
    ['reserved', '240.0.0.1'],
    ['documentation', '192.0.2.10'],
    ['documentation', '2001:db8::25'],
    // Forms that embed an IPv4 address are judged by the address inside.
    ['loopback', '::ffff:127.0.0.1'],
    ['loopback', '::ffff:7f00:1'],
    ['link-local', '::ffff:169.254.169.254'],
    ['private', '64:ff9b::10.0.0.1'],
    ['loopback', '64:ff9b::7f00:1'],
    ['private', '2002:c0a8:0101::1'],
    ['reserved', '::127.0.0.1'],
  ];

  it.each(refused)('refuses a %s address (%s), typed or resolved', async (cls, ip) => {
    expect(classifyAddress(ip)).toBe(cls);
    const typed = await refusal(checkSmtpHost(ip, 587, { allowPrivateHosts: false }));
    expect(typed.code).toBe('SMTP_HOST_NOT_ALLOWED');
    expect(typed.status).toBe(422);
    const resolved = await refusal(checkSmtpHost('smtp.example.com', 587, { allowPrivateHosts: false, resolver: resolvesTo(ip) }));
    expect(resolved.code).toBe('SMTP_HOST_NOT_ALLOWED');
    expect(resolved.message).toContain('smtp.example.com');
  });

  it('names the host in the message but not the internal address it resolved to', async () => {
    const err = await refusal(checkSmtpHost('intranet.example.com', 587, { allowPrivateHosts: false, resolver: resolvesTo('10.20.30.40') }));
    expect(err.message).toContain('intranet.example.com');
    expect(err.message).not.toContain('10.20.30.40');
  });

  it('refuses a name when any one of its addresses is internal', async () => {
    const err = await refusal(checkSmtpHost('smtp.example.com', 587, { allowPrivateHosts: false, resolver: resolvesTo(PUBLIC_IP, '127.0.0.1') }));
    expect(err.code).toBe('SMTP_HOST_NOT_ALLOWED');
  });

  it('lets public IPv4-mapped and NAT64 forms through, since they reach a public address', async () => {
    expect(classifyAddress(`::ffff:${PUBLIC_IP}`)).toBe('public');
    expect(classifyAddress(`64:ff9b::${PUBLIC_IP}`)).toBe('public');
    expect(classifyAddress('2a00:1450:4001:81c::200e')).toBe('public');
  });

  it.each(['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '0x7f.0.0.1', '127.000.000.001', '１２７.０.０.１', '017700000001'])(
    'always refuses the IPv4 spelling "%s", even when private hosts are allowed',
    async (host) => {
      let resolverCalled = false;
      const resolver: HostResolver = async () => {
        resolverCalled = true;
        return [PUBLIC_IP];
      };
      for (const allowPrivateHosts of [false, true]) {
        const err = await refusal(checkSmtpHost(host, 587, { allowPrivateHosts, resolver }));
        expect(err.code).toBe('SMTP_HOST_NOT_ALLOWED');
        expect(err.message).toContain('unusual form');
      }
      expect(resolverCalled).toBe(false);
    },
  );

  it('refuses a host typed with a port, a scheme or spaces, without resolving it', async () => {
    for (const host of ['smtp.example.com:587', 'smtp://smtp.example.com', 'smtp example.com', '', '   ', 'a..b.example']) {
      const err = await refusal(checkSmtpHost(host, 587, publicOnly));
      expect(err.code).toBe('SMTP_HOST_NOT_ALLOWED');
    }
  });

  it('lets loopback and private addresses through when the operator allows private hosts', async () => {
    const allow = { allowPrivateHosts: true, resolver: resolvesTo('127.0.0.1') };
    await expect(checkSmtpHost('127.0.0.1', 2525, allow)).resolves.toEqual({ ip: '127.0.0.1', servername: undefined });
    await expect(checkSmtpHost('localhost', 1025, allow)).resolves.toEqual({ ip: '127.0.0.1', servername: 'localhost' });
    await expect(checkSmtpHost('10.0.0.5', 25, allow)).resolves.toMatchObject({ ip: '10.0.0.5' });
  });

  it('allows only the mail ports 25, 465, 587 and 2525 for public hosts', async () => {
    for (const port of [25, 465, 587, 2525]) {
      await expect(checkSmtpHost('smtp.example.com', port, publicOnly)).resolves.toMatchObject({ ip: PUBLIC_IP });
    }
    for (const port of [22, 80, 443, 3306, 6379, 8025]) {
      const err = await refusal(checkSmtpHost('smtp.example.com', port, publicOnly));
      expect(err.code).toBe('SMTP_HOST_NOT_ALLOWED');
      expect(err.details).toEqual({ allowedPorts: [25, 465, 587, 2525] });
    }
  });

  it('allows any valid port when private hosts are allowed, but never an invalid one', async () => {
    const allow = { allowPrivateHosts: true, resolver: resolvesTo('127.0.0.1') };
    await expect(checkSmtpHost('localhost', 8025, allow)).resolves.toMatchObject({ ip: '127.0.0.1' });
    for (const port of [0, -1, 65536, 25.5, Number.NaN]) {
      expect((await refusal(checkSmtpHost('localhost', port, allow))).code).toBe('SMTP_HOST_NOT_ALLOWED');
    }
  });

  it('reports a name that does not resolve as a connection failure', async () => {
    const resolver: HostResolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
    };
    const err = await refusal(checkSmtpHost('nowhere.invalid', 587, { allowPrivateHosts: false, resolver }));
    expect(err.code).toBe('SMTP_CONNECT_FAILED');
    expect(err.message).not.toContain('getaddrinfo');
    expect((await refusal(checkSmtpHost('empty.example', 587, { allowPrivateHosts: false, resolver: resolvesTo() }))).code).toBe('SMTP_CONNECT_FAILED');
  });

  it('gives up on a lookup that takes too long', async () => {
    const resolver: HostResolver = () => new Promise(() => undefined);
    const err = await refusal(checkSmtpHost('slow.example', 587, { allowPrivateHosts: false, resolver, timeoutMs: 20 }));
    expect(err.code).toBe('SMTP_TIMEOUT');
  });

  it('uses the system resolver when none is injected', async () => {
    const err = await refusal(checkSmtpHost('localhost', 587, { allowPrivateHosts: false }));
    expect(err.code).toBe('SMTP_HOST_NOT_ALLOWED');
  });
});
