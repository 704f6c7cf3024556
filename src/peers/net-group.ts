/**
 * Network groups: the unit an attacker pays for. Addresses in one group are assumed to be cheap for one
 * operator to hold together, so the address book buckets by group and eviction counts peers per group
 * (Bitcoin Core's netgroup, src/netgroup.cpp: /16 for IPv4, /32 for IPv6). Loopback is not special: on one
 * machine 127.a.b.c falls in group 127.a, which lets tests model many groups on loopback.
 */

/** IPv4-mapped IPv6 addresses ('::ffff:1.2.3.4') name the same host as the plain IPv4 form. */
export function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}

/** The network group of a host: 'a.b' for IPv4, the first 32 bits for IPv6, the lower-cased name otherwise. */
export function netGroup(host: string): string {
  const h = normalizeHost(host).toLowerCase();
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(h);
  if (v4) return `${Number(v4[1])}.${Number(v4[2])}`;
  if (h.includes(':')) return `${expandV6(h).slice(0, 2).join(':')}::/32`;
  return h;
}

/** The eight 16-bit groups of an IPv6 address, '::' expanded, each in lower-case hex without leading zeros. */
export function expandV6(h: string): string[] {
  const [head = '', tail] = h.split('::');
  const a = head ? head.split(':') : [];
  const b = tail ? tail.split(':') : [];
  const mid = tail === undefined ? [] : Array.from({ length: Math.max(0, 8 - a.length - b.length) }, () => '0');
  return [...a, ...mid, ...b].map((x) => (Number.parseInt(x, 16) || 0).toString(16));
}
