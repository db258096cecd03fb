import { cidrContains, cidrLast, cidrsOverlap, formatCidr, formatIP, parseCidr, parseIP, parseIPWithOptionalPrefix } from '../../src/core/ip';

describe('parseIP / formatIP', () => {
  test.each([
    ['10.1.2.3', 4, 0x0a010203n, '10.1.2.3'],
    ['0.0.0.0', 4, 0n, '0.0.0.0'],
    ['255.255.255.255', 4, 0xffffffffn, '255.255.255.255'],
    ['fd00::1', 6, 0xfd000000000000000000000000000001n, 'fd00::1'],
    ['FD00:0:0:0:0:0:0:1', 6, 0xfd000000000000000000000000000001n, 'fd00::1'],
    ['::', 6, 0n, '::'],
  ])('%s is IPv%i %s', (text, family, value, canonical) => {
    const ip = parseIP(text);
    expect(ip).toEqual({ family, value });
    expect(formatIP(ip!)).toBe(canonical);
  });

  test.each(['', '10.1.2', '10.1.2.256', '10.1.2.3/24', ' 10.1.2.3', 'fd00::1%eth0', 'hello', '1:2:3'])('%j is not an address', (text) => {
    expect(parseIP(text)).toBeUndefined();
  });
});

describe('parseCidr', () => {
  test.each([
    ['10.1.2.0/24', '10.1.2.0/24', false],
    ['10.1.2.3/24', '10.1.2.0/24', true],
    ['fd00::/64', 'fd00::/64', false],
    ['fd00::5/120', 'fd00::/120', true],
    ['0.0.0.0/0', '0.0.0.0/0', false],
  ])('%s -> %s (host bits set: %s)', (text, network, hostBits) => {
    const parsed = parseCidr(text)!;
    expect(formatCidr(parsed.cidr)).toBe(network);
    expect(parsed.hostBitsSet).toBe(hostBits);
  });

  test.each(['10.1.2.0', '10.1.2.0/33', 'fd00::/129', '10.1.2.0/-1', '10.1.2.0/2x', 'x/24'])('%j is not a CIDR', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  test('address with optional prefix', () => {
    expect(parseIPWithOptionalPrefix('10.1.2.3/24')).toEqual(parseIP('10.1.2.3'));
    expect(parseIPWithOptionalPrefix('10.1.2.3')).toEqual(parseIP('10.1.2.3'));
    expect(parseIPWithOptionalPrefix('10.1.2.3/40')).toBeUndefined();
  });
});

describe('CIDR arithmetic', () => {
  const c = (t: string) => parseCidr(t)!.cidr;
  test('last address', () => {
    expect(formatIP({ family: 4, value: cidrLast(c('10.1.2.0/24')) })).toBe('10.1.2.255');
    expect(formatIP({ family: 6, value: cidrLast(c('fd00::/120')) })).toBe('fd00::ff');
  });
  test.each([
    ['10.0.0.0/8', '10.1.0.0/16', true],
    ['10.1.0.0/16', '10.2.0.0/16', false],
    ['10.0.0.0/8', 'fd00::/8', false],
    ['fd00::/64', 'fd00::1:0/112', true],
  ])('%s overlaps %s: %s', (a, b, expected) => {
    expect(cidrsOverlap(c(a), c(b))).toBe(expected);
    expect(cidrsOverlap(c(b), c(a))).toBe(expected);
  });
  test('containment is family-aware', () => {
    expect(cidrContains(c('10.0.0.0/8'), parseIP('10.255.255.255')!)).toBe(true);
    expect(cidrContains(c('10.0.0.0/8'), parseIP('11.0.0.0')!)).toBe(false);
    expect(cidrContains(c('::/0'), parseIP('10.0.0.1')!)).toBe(false);
  });
});

describe('IPv4-mapped IPv6 addresses (::ffff:a.b.c.d)', () => {
  test.each(['::ffff:10.1.2.3', '::FFFF:10.1.2.3', '::ffff:a01:203', '0:0:0:0:0:ffff:10.1.2.3'])('%s is the IPv4 address 10.1.2.3', (text) => {
    expect(parseIP(text)).toEqual(parseIP('10.1.2.3'));
    expect(parseIPWithOptionalPrefix(`${text}/24`)).toBeUndefined();
  });
  test('a CIDR written IPv4-mapped is not a CIDR (its prefix would count IPv6 bits)', () => {
    expect(parseCidr('::ffff:10.1.2.0/120')).toBeUndefined();
    expect(parseCidr('::ffff:10.1.2.0/24')).toBeUndefined();
  });
  test('other IPv6 addresses stay IPv6', () => {
    expect(parseIP('::fffe:10.1.2.3')?.family).toBe(6);
    expect(parseIP('64:ff9b::10.1.2.3')?.family).toBe(6);
  });
});
