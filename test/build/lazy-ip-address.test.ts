/**
 * The build defers ip-address's load-time tables (scripts/lib/lazy-ip-address.cjs). These
 * tests load the library twice, as published and as the bundle gets it, and check that the
 * change (1) really defers the work: nothing reads the special-purpose registries until an
 * address is classified, and (2) changes no answer: every argument-less method of
 * Address4 and Address6 agrees with the original over a corpus of addresses.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const lazy = require('../../scripts/lib/lazy-ip-address.cjs') as {
  DEFERRED: { file: string; className: string }[];
  deferLoadTimeTables: (source: string, className: string) => string;
};

const published = path.dirname(require.resolve('ip-address/package.json'));

type AddressClass = { new (a: string): object; prototype: object };
type Library = { Address4: AddressClass; Address6: AddressClass };

/** A copy of ip-address's dist/ whose registries count their reads; optionally with the build's change. */
function loadCopy(deferred: boolean): { lib: Library; reads: () => number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-ipaddr-'));
  fs.cpSync(path.join(published, 'dist'), dir, { recursive: true });
  if (deferred) {
    for (const { file, className } of lazy.DEFERRED) {
      const f = path.join(dir, file);
      fs.writeFileSync(f, lazy.deferLoadTimeTables(fs.readFileSync(f, 'utf8'), className));
    }
  }
  const counter = `__podIpamTableReads_${deferred ? 'lazy' : 'eager'}`;
  const g = globalThis as Record<string, unknown>;
  g[counter] = 0;
  // The tables are built from these registries; a getter counts each time one is read.
  for (const [file, key] of [['v4/constants.js', 'SPECIAL_PURPOSE'], ['v6/constants.js', 'TYPES']] as const) {
    fs.appendFileSync(
      path.join(dir, file),
      `\n{ const v = exports.${key}; Object.defineProperty(exports, '${key}', { get() { globalThis.${counter}++; return v; } }); }\n`,
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = require(path.join(dir, 'ip-address.js')) as Library;
  fs.rmSync(dir, { recursive: true, force: true });
  return { lib, reads: () => g[counter] as number };
}

const eager = loadCopy(false);
const deferred = loadCopy(true);

const v4Corpus = ['0.0.0.0', '10.1.2.3', '100.64.0.1', '127.0.0.1', '169.254.1.1', '172.16.5.4', '192.0.0.9', '192.0.2.7', '192.168.1.1', '198.18.0.1', '203.0.113.9', '224.0.0.1', '240.0.0.1', '255.255.255.255', '8.8.8.8', '10.0.0.0/8', '192.168.0.0/24'];
const v6Corpus = ['::', '::1', '2001::1', '2001:db8::1', '2001:2::1', '2002:c000:0204::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'ff02::1', '::ffff:10.1.2.3', '64:ff9b::a01:203', '64:ff9b:1::1', '3fff::1', '2606:4700::1111', '2001:db8::/32'];

/** Every argument-less method's answer (or error) for one address. */
function answers(Address: AddressClass, text: string): Record<string, string> {
  const a = new Address(text) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (let proto = Object.getPrototypeOf(a); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const fn = a[name];
      if (name === 'constructor' || typeof fn !== 'function' || fn.length !== 0 || name in out) continue;
      try {
        out[name] = JSON.stringify(fn.call(a), (_k, v) => (typeof v === 'bigint' ? v.toString() : v && typeof v === 'object' && 'address' in v ? String(v.address) : v));
      } catch (e) {
        out[name] = `throws ${(e as Error).message}`;
      }
    }
  }
  return out;
}

describe('ip-address with its tables deferred (the bundle build)', () => {
  it('builds no table when the module loads, and builds them once an address is classified', () => {
    expect(eager.reads()).toBeGreaterThan(0); // the published library reads them at load
    expect(deferred.reads()).toBe(0);
    expect(new deferred.lib.Address4('10.0.0.1').constructor.name).toBe('Address4'); // parsing alone needs none
    expect(deferred.reads()).toBe(0);
    const classify = (): void => {
      expect((new deferred.lib.Address4('192.168.1.1') as { isPrivate(): boolean }).isPrivate()).toBe(true);
      expect((new deferred.lib.Address4('8.8.8.8') as { isGlobal(): boolean }).isGlobal()).toBe(true);
      expect((new deferred.lib.Address6('fe80::1') as { getType(): string }).getType()).toBe('Link-local unicast');
    };
    classify();
    const afterFirst = deferred.reads();
    expect(afterFirst).toBe(eager.reads()); // each table built, from the same registries
    classify();
    expect(deferred.reads()).toBe(afterFirst); // and only once
  });

  it.each(v4Corpus)('Address4 %s answers as the published library', (text) => {
    const got = answers(deferred.lib.Address4, text);
    expect(Object.keys(got).length).toBeGreaterThan(20);
    expect(got).toEqual(answers(eager.lib.Address4, text));
  });

  it.each(v6Corpus)('Address6 %s answers as the published library', (text) => {
    const got = answers(deferred.lib.Address6, text);
    expect(Object.keys(got).length).toBeGreaterThan(20);
    expect(got).toEqual(answers(eager.lib.Address6, text));
  });

  it('refuses a file whose shape it does not know, so an upgrade cannot be changed silently', () => {
    expect(() => lazy.deferLoadTimeTables('exports.Address4 = Address4;\n', 'Address4')).toThrow(/not found once/);
    const source = fs.readFileSync(path.join(published, 'dist', 'ipv4.js'), 'utf8');
    expect(() => lazy.deferLoadTimeTables(`${source}\nconsole.log(1);\n`, 'Address4')).toThrow(/unexpected statements/);
  });
});
