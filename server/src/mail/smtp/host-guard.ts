import { lookup } from 'node:dns/promises';
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { DomainError } from '../../common/domain-error';

/** Returns every address a host name resolves to. */
export type HostResolver = (host: string) => Promise<string[]>;

/** The ports mail submission and relay use; any other port is refused for customer hosts. */
export const PUBLIC_SMTP_PORTS: readonly number[] = [25, 465, 587, 2525];

export interface HostGuardOptions {
  /** Local and test setups: let private, loopback and link-local addresses and any port through. */
  allowPrivateHosts: boolean;
  /** Defaults to the system resolver (`dns.lookup`, all addresses). */
  resolver?: HostResolver;
  /** Give up on the name lookup after this long. */
  timeoutMs?: number;
}

export interface CheckedHost {
  /** The address to connect to: checked, so no second lookup can swap it. */
  ip: string;
  /** The host name to check the certificate against (ASCII form); undefined when the admin typed an IP address. */
  servername: string | undefined;
}

/** Why an address is refused, or `public` when it may be connected to. */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared'
  | 'link-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'reserved';

type Rule = readonly [cls: Exclude<AddressClass, 'public'>, network: string, prefix: number];

// IANA special-purpose registries (RFC 6890 and successors): everything not globally reachable.
const V4_RULES: readonly Rule[] = [
  ['unspecified', '0.0.0.0', 8],
  ['private', '10.0.0.0', 8],
  ['shared', '100.64.0.0', 10],
  ['loopback', '127.0.0.0', 8],
  ['link-local', '169.254.0.0', 16],
  ['private', '172.16.0.0', 12],
  ['reserved', '192.0.0.0', 24],
  ['documentation', '192.0.2.0', 24],
  ['reserved', '192.88.99.0', 24],
  ['private', '192.168.0.0', 16],
  ['reserved', '198.18.0.0', 15],
  ['documentation', '198.51.100.0', 24],
  ['documentation', '203.0.113.0', 24],
  ['multicast', '224.0.0.0', 4],
  ['broadcast', '255.255.255.255', 32],
  ['reserved', '240.0.0.0', 4],
];

// Checked after the forms that embed an IPv4 address; anything outside 2000::/3 is refused anyway.
const V6_RULES: readonly Rule[] = [
  ['unspecified', '::', 128],
  ['loopback', '::1', 128],
  ['reserved', '::', 96], // IPv4-compatible, deprecated
  ['private', '64:ff9b:1::', 48], // local-use NAT64
  ['reserved', '100::', 64],
  ['reserved', '2001::', 23],
  ['documentation', '2001:db8::', 32],
  ['documentation', '3fff::', 20],
  ['reserved', '5f00::', 16],
  ['private', 'fc00::', 7],
  ['link-local', 'fe80::', 10],
  ['private', 'fec0::', 10],
  ['multicast', 'ff00::', 8],
];

const compile = (rules: readonly Rule[], family: 'ipv4' | 'ipv6') =>
  rules.map(([cls, network, prefix]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, family);
    return { cls, list };
  });
const V4 = compile(V4_RULES, 'ipv4');
const V6 = compile(V6_RULES, 'ipv6');

/** Classifies a literal IPv4 or IPv6 address (no zone id). Throws on anything else. */
export function classifyAddress(ip: string): AddressClass {
  if (isIPv4(ip)) return V4.find((r) => r.list.check(ip, 'ipv4'))?.cls ?? 'public';
  if (!isIPv6(ip)) throw new Error('classifyAddress: not an IP address');
  // A zone id ("fe80::1%eth0") only means something for link-local and site-local scopes.
  if (ip.includes('%')) return 'link-local';
  const g = ipv6Groups(ip);
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  // Forms that carry an IPv4 address reach that address: judge it, not the wrapper.
  if (zeros(0, 5) && g[5] === 0xffff) return classifyAddress(v4From(g[6], g[7])); // ::ffff:a.b.c.d
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return classifyAddress(v4From(g[6], g[7])); // NAT64 64:ff9b::/96
  if (g[0] === 0x2002) return classifyAddress(v4From(g[1], g[2])); // 6to4
  const hit = V6.find((r) => r.list.check(ip, 'ipv6'));
  if (hit) return hit.cls;
  return (g[0] & 0xe000) === 0x2000 ? 'public' : 'reserved';
}

/**
 * Resolves `host` once and returns the address to connect to, or throws `SMTP_HOST_NOT_ALLOWED` (422).
 * Unless `allowPrivateHosts`: every resolved address must be public (one internal answer refuses the host,
 * so a name cannot mix a public and an internal address), and the port must be one of PUBLIC_SMTP_PORTS.
 * IPv4 addresses in any spelling other than four decimal numbers are always refused.
 */
export async function checkSmtpHost(host: string, port: number, opts: HostGuardOptions): Promise<CheckedHost> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw notAllowed(`Port ${String(port)} is not a valid TCP port. Use a number from 1 to 65535.`);
  }
  if (!opts.allowPrivateHosts && !PUBLIC_SMTP_PORTS.includes(port)) {
    throw notAllowed(`Port ${port} is not allowed for a mail server. Use ${listPorts()}.`, { allowedPorts: [...PUBLIC_SMTP_PORTS] });
  }

  const typed = host.trim();
  const unbracketed = typed.startsWith('[') && typed.endsWith(']') ? typed.slice(1, -1) : typed;
  if (isIP(unbracketed)) {
    refuseInternal(unbracketed, `The address ${unbracketed}`, opts);
    return { ip: unbracketed, servername: undefined };
  }

  const name = parseHostName(typed);
  const addresses = await resolve(name, opts);
  if (addresses.length === 0) throw doesNotResolve(name);
  for (const address of addresses) refuseInternal(address, `The mail server host ${name}`, opts);
  // IPv4 first, as nodemailer itself does: many service networks have no working IPv6 route.
  const ip = addresses.find((a) => isIPv4(a)) ?? addresses[0];
  return { ip, servername: name };
}

/**
 * Validates and normalises a typed host name to its ASCII (IDNA) form. Uses the URL standard's host
 * parser, so a name it would read as an IPv4 number (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`,
 * full-width digits) is recognised and refused, whatever the platform resolver would make of it.
 */
export function parseHostName(host: string): string {
  const typed = host.trim();
  if (!typed) throw notAllowed('Enter the host name of the mail server.');
  const ascii = domainToASCII(typed);
  if (isIP(ascii)) {
    throw notAllowed(
      `The mail server host "${typed}" is an IP address written in an unusual form. ` +
        'Enter the server name, or the address as four decimal numbers (like 192.0.2.10).',
    );
  }
  const name = ascii.endsWith('.') ? ascii.slice(0, -1) : ascii;
  if (!name || name.includes('..') || !/^[a-z0-9_.-]+$/.test(name)) {
    throw notAllowed(`"${typed}" is not a valid host name. Enter only the server name, without a port or "smtp://".`);
  }
  return name;
}

function refuseInternal(ip: string, subject: string, opts: HostGuardOptions): void {
  if (opts.allowPrivateHosts) return;
  const cls = classifyAddress(ip);
  if (cls === 'public') return;
  throw notAllowed(
    `${subject} points to a ${describe(cls)} address. This service only connects to mail servers on the public internet.`,
  );
}

async function resolve(name: string, opts: HostGuardOptions): Promise<string[]> {
  const resolver = opts.resolver ?? systemResolver;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    if (opts.timeoutMs) {
      timer = setTimeout(
        () => reject(new DomainError('SMTP_TIMEOUT', 504, `Looking up the mail server host ${name} took too long. Try again later.`)),
        opts.timeoutMs,
      );
    }
  });
  try {
    const addresses = await Promise.race([resolver(name), timeout]);
    return addresses.map((a) => (a.startsWith('[') && a.endsWith(']') ? a.slice(1, -1) : a)).filter((a) => isIP(a));
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw doesNotResolve(name);
  } finally {
    clearTimeout(timer);
  }
}

const systemResolver: HostResolver = async (name) => (await lookup(name, { all: true })).map((a) => a.address);

const doesNotResolve = (name: string) =>
  new DomainError('SMTP_CONNECT_FAILED', 502, `Could not find the mail server host ${name}: the name does not resolve. Check the host name.`);

const notAllowed = (message: string, details?: Record<string, unknown>) => new DomainError('SMTP_HOST_NOT_ALLOWED', 422, message, details);

const listPorts = () => `${PUBLIC_SMTP_PORTS.slice(0, -1).join(', ')} or ${PUBLIC_SMTP_PORTS[PUBLIC_SMTP_PORTS.length - 1]}`;

function describe(cls: Exclude<AddressClass, 'public'>): string {
  switch (cls) {
    case 'shared':
      return 'carrier-grade NAT (shared)';
    case 'documentation':
      return 'documentation-only';
    case 'unspecified':
    case 'reserved':
      return 'reserved, non-routable';
    default:
      return cls;
  }
}

function v4From(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** The eight 16-bit groups of a valid IPv6 literal (checked with `isIPv6` first). */
function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase();
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const parse = (part: string | undefined) => (part ? part.split(':').map((x) => parseInt(x, 16)) : []);
  const left = parse(head);
  const right = parse(rest);
  if (rest === undefined) return left;
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
