/**
 * core/ip.ts parses and formats addresses itself (a general library cost memory and
 * start-up on every call). Formatted addresses are file names in existing state
 * directories, so the format must stay exactly what the `ip-address` package produced:
 * this compares the two on random and hand-picked input.
 */
import fc from 'fast-check';
import { Address4, Address6 } from 'ip-address';
import { formatIP, parseIP } from '../../src/core/ip';

/** What core/ip.ts did with ip-address, kept as the reference. */
function reference(text: string): string | undefined {
  if (text.includes('/') || text.includes('%') || text.trim() !== text) return undefined;
  if (Address4.isValid(text)) return Address4.fromBigInt(new Address4(text).bigInt()).correctForm();
  if (text.includes(':') && Address6.isValid(text)) return Address6.fromBigInt(new Address6(text).bigInt()).correctForm();
  return undefined;
}
const ours = (text: string): string | undefined => {
  const ip = parseIP(text);
  return ip && formatIP(ip);
};

const edgeCases = [
  '1.2.3.4', '0.0.0.0', '255.255.255.255', '01.2.3.4', '1.2.3.004', '1.2.3', '256.1.1.1', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.-1',
  '1..2.3', '0x1.2.3.4', '1.2.3.4.5', '', '.', ':', '::', ':::', '::1', '1::', 'FD00::5', 'fd00:0:0:0:0:0:0:5', '::ffff:1.2.3.4',
  '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1::2::3', '1:2:3:4:5:6:1.2.3.4', '12345::',
  'g::1', '::1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '1:0:0:2:0:0:0:3', '1:0:0:2:0:0:3:4', '0:0:1:0:0:1:0:0', 'fe80::1%eth0',
  '10.1.2.0/24', '::1.2.3', '1.2.3.4::', '::ffff:01.2.3.4', '0000:0000::0001', '00000::1', '1:2:3:4:5:6:7:8:',
  ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', 'a:b:c:d:e:f:a:b', '٣.1.1.1', '1.2.3.4\n',
];

test.each(edgeCases)('%j parses and formats as ip-address did', (text) => {
  expect(ours(text)).toBe(reference(text));
});

test('random IPv4 and IPv6 values format identically', () => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.ipV6()), (text) => {
      expect(ours(text)).toBe(reference(text));
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 8 }), (value, zeroRuns) => {
      // Values with runs of zero groups exercise the "::" choice.
      let v = value;
      for (let i = 0; i < zeroRuns; i++) v &= ~(0xffffn << BigInt(16 * ((Number(value >> BigInt(i * 7)) & 7))));
      const text = formatIP({ family: 6, value: v });
      expect(text).toBe(Address6.fromBigInt(v).correctForm());
      expect(parseIP(text)).toEqual({ family: 6, value: v });
    }),
    { numRuns: 3000 },
  );
});

test('random strings over the address alphabet are accepted and rejected alike', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9a-fA-F:.]{0,45}$/), (text) => {
      expect(ours(text)).toBe(reference(text));
    }),
    { numRuns: 5000 },
  );
});
