/**
 * Telling the requester: the callback URL a request may name, and which addresses it may never reach. On AWS a
 * callback must be https and must not reach private, loopback, link-local (the instance metadata service) or other
 * special-purpose addresses, whatever its name resolves to. A deployment whose callback network is `loopback`
 * (local mode's) also allows http and https to loopback.
 */
import { BlockList, isIP } from 'node:net';

const forbidden = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  forbidden.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  // ::/96 holds the unspecified, loopback and deprecated IPv4-compatible addresses; 2002::/16 is 6to4, which
  // embeds an IPv4. (IPv4-mapped addresses are judged as the IPv4 they map, below.)
  ['::', 96],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  forbidden.addSubnet(net, prefix, 'ipv6');

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** True for an address a callback must never reach on AWS (IPv4-mapped IPv6 is judged as the IPv4 it maps). */
export function isForbiddenAddress(ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (mapped) return forbidden.check(mapped, 'ipv4');
  // The same written in hex (`::ffff:a9fe:a9fe`, as URLs normalize it).
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (hex) {
    const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
    return forbidden.check(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, 'ipv4');
  }
  const family = isIP(ip);
  if (family === 0) return true;
  return forbidden.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Which addresses callbacks may reach: `public` (https to public addresses only; every deployment on AWS) or
 * `loopback` (also http and https to loopback: local mode). See FUNCTION_ENV.callbackNetwork.
 */
export type CallbackNetwork = 'public' | 'loopback';

/** Why a callback URL is refused, or undefined when it is acceptable (its resolved addresses are checked at send time). */
export function callbackUrlProblem(text: string, network: CallbackNetwork): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  const loopback = LOOPBACK_NAMES.has(url.hostname);
  if (network === 'loopback' && loopback) return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'must be http or https';
  if (url.protocol !== 'https:') return network === 'loopback' ? 'must be https (or http to loopback in local mode)' : 'must be https';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (loopback || (isIP(host) && isForbiddenAddress(host))) return 'must not point at a private, loopback or link-local address';
  if (/\.(localhost|internal|local)$/i.test(host)) return 'must not point at an internal name';
  return undefined;
}

/** The body POSTed to the callback URL when a request settles. */
export interface CallbackBody {
  readonly id: string;
  readonly status: string;
  readonly action: string;
  readonly decidedBy?: string;
  readonly decidedAt?: string;
  readonly reason?: string;
  readonly receipt?: string;
}
