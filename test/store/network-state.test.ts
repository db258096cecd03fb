/**
 * The state store in process: file formats, the ADD protocol's steps and the states a
 * crash between them leaves, releases and sweeps, and refusals of directories that are
 * not ours. (Cross-process locking is proven by spawning the executable:
 * test/process/network-lock.test.ts.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptStateError, IoError, TryAgainError } from '../../src/core/errors';
import { formatIP, parseIP } from '../../src/core/ip';
import { canonicalizeRangeSets } from '../../src/core/range-set';
import { AddClaim } from '../../src/store/add-claim';
import { openNetwork, underLock } from '../../src/store/network-store';
import { tempDataDir } from '../helpers/run-plugin';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

const a = { containerId: 'a', ifname: 'eth0' };
const b = { containerId: 'b', ifname: 'eth0' };
const ip = (t: string) => parseIP(t)!;
const set = canonicalizeRangeSets([[{ subnet: '10.1.2.0/24' }]], 'r')[0]!;
const options = () => ({ dataDir, network: 'net' });
const open = () => openNetwork(options());
const file = (rel: string) => path.join(dataDir, 'net', rel);
const read = (rel: string) => JSON.parse(fs.readFileSync(file(rel), 'utf8')) as Record<string, unknown>;
const warnNever = (m: string) => {
  throw new Error(m);
};

/** A whole ADD of `who` claiming `ips`, as the verb runs it. */
function addAll(who: typeof a, ips: string[]): void {
  const state = open();
  const claim = AddClaim.prepare(state, who, { namespace: 'ns', name: who.containerId });
  claim.take(ips.map(ip), []);
  claim.finish(ips.map(ip), warnNever);
}

describe('the ADD protocol', () => {
  test('directories 0700 whatever the umask, files 0600; intent, claim, final index', () => {
    const umask = process.umask(0);
    let claim: AddClaim;
    try {
      const state = open();
      claim = AddClaim.prepare(state, a, undefined);
    } finally {
      process.umask(umask);
    }
    for (const d of ['', 'net', 'net/ips', 'net/attachments']) expect(fs.statSync(path.join(dataDir, d)).mode & 0o777).toBe(0o700);
    expect(read('attachments/a:eth0')).toMatchObject({ containerId: 'a', ifname: 'eth0', claiming: true });
    expect(claim.held()).toEqual({ ips: [], stale: [], indexed: false });
    claim.take([ip('10.1.2.7')], []);
    // The claim is the intent's inode: one link() under the lock.
    expect(fs.statSync(file('ips/10.1.2.7')).ino).toBe(fs.statSync(file('attachments/a:eth0')).ino);
    claim.finish([ip('10.1.2.7')], warnNever);
    expect(read('attachments/a:eth0')).toEqual({ containerId: 'a', ifname: 'eth0', since: expect.any(String), ips: ['10.1.2.7'] });
    expect(read('ips/10.1.2.7')).toMatchObject({ containerId: 'a', ifname: 'eth0' });
    for (const f of ['ips/10.1.2.7', 'attachments/a:eth0']) expect(fs.statSync(file(f)).mode & 0o777).toBe(0o600);
    expect(open().held(a).ips.map(formatIP)).toEqual(['10.1.2.7']);
  });

  test('the pod named in CNI_ARGS is recorded with the reservation', () => {
    addAll(a, ['10.1.2.2']);
    expect(open().reservations()[0]!.pod).toEqual({ namespace: 'ns', name: 'a' });
  });

  test('a crash after the claim, before the final index: the intent leads readers to the address', () => {
    const state = open();
    AddClaim.prepare(state, a, undefined).take([ip('10.1.2.5')], []); // no finish: killed here
    expect(open().held(a)).toEqual({ ips: [ip('10.1.2.5')], stale: [], indexed: true });
  });

  test('a retried ADD after such a crash keeps the address and writes the final index', () => {
    AddClaim.prepare(open(), a, undefined).take([ip('10.1.2.5')], []);
    const retry = AddClaim.prepare(open(), a, undefined);
    expect(retry.held().ips.map(formatIP)).toEqual(['10.1.2.5']);
    retry.take([], []); // nothing to change
    retry.finish([ip('10.1.2.5')], warnNever);
    expect(read('attachments/a:eth0')).toMatchObject({ ips: ['10.1.2.5'] });
    expect(read('attachments/a:eth0').claiming).toBeUndefined();
  });

  test('an index torn by a power loss (empty or garbage) is resolved against ips/', () => {
    addAll(a, ['10.1.2.5']);
    for (const torn of ['', '{"contai']) {
      fs.writeFileSync(file('attachments/a:eth0'), torn);
      expect(open().held(a).ips.map(formatIP)).toEqual(['10.1.2.5']);
    }
  });

  test('an index naming an address the attachment does not hold is reported stale, never trusted', () => {
    addAll(b, ['10.1.2.2']);
    fs.writeFileSync(file('attachments/a:eth0'), JSON.stringify({ containerId: 'a', ifname: 'eth0', ips: ['10.1.2.2'], since: '' }));
    expect(open().held(a)).toEqual({ ips: [], stale: [ip('10.1.2.2')], indexed: true });
  });

  test('a claim never replaces an address file that appeared under it; what it claimed is undone', () => {
    fs.mkdirSync(file('ips'), { recursive: true });
    fs.writeFileSync(file('ips/10.1.2.2'), JSON.stringify({ containerId: 'b', ifname: 'eth0' }));
    const claim = AddClaim.prepare(open(), a, undefined);
    expect(() => claim.take([ip('10.1.2.3'), ip('10.1.2.2')], [])).toThrow(TryAgainError);
    expect(open().ownerOf(ip('10.1.2.2'))).toEqual(b);
    expect(open().ownerOf(ip('10.1.2.3'))).toBeUndefined();
  });

  test('an intent swept by a concurrent GC before the claim is written again', () => {
    const state = open();
    const claim = AddClaim.prepare(state, a, undefined);
    fs.rmSync(file('attachments/a:eth0'));
    claim.take([ip('10.1.2.4')], []);
    claim.finish([ip('10.1.2.4')], warnNever);
    expect(open().held(a).ips.map(formatIP)).toEqual(['10.1.2.4']);
  });

  test('a failed ADD abandons its intent: the state is as it was', () => {
    AddClaim.prepare(open(), a, undefined).abandon();
    expect(fs.readdirSync(file('attachments'))).toEqual([]);
  });
});

describe('reading and refusing', () => {
  test('a corrupt reservation is an error, never a reset; a scan for GC skips and reports it', () => {
    addAll(a, ['10.1.2.3']);
    fs.writeFileSync(file('ips/10.1.2.2'), '{not json');
    expect(() => open().ownerOf(ip('10.1.2.2'))).toThrow(CorruptStateError);
    const corrupt: string[] = [];
    expect(open().reservations((e) => corrupt.push(e.message)).map((r) => formatIP(r.ip))).toEqual(['10.1.2.3']);
    expect(corrupt).toHaveLength(1);
  });

  test('refuses symlinks planted in place of state, and directories that are not its own', () => {
    addAll(a, ['10.1.2.3']);
    const target = path.join(dataDir, 'elsewhere');
    fs.writeFileSync(target, JSON.stringify({ containerId: 'x', ifname: 'eth0' }));
    fs.symlinkSync(target, file('ips/10.1.2.2'));
    expect(() => open().ownerOf(ip('10.1.2.2'))).toThrow(IoError);
    fs.rmSync(file('attachments'), { recursive: true });
    fs.symlinkSync(dataDir, file('attachments'));
    expect(() => open()).toThrow(IoError);
    fs.rmSync(file('attachments'));
    fs.chmodSync(file(''), 0o777);
    expect(() => open()).toThrow(/writable by group or others/);
    fs.chmodSync(file(''), 0o755); // not writable by others: accepted
    expect(() => open()).not.toThrow();
    fs.chownSync(file(''), 65534, 65534);
    expect(() => open()).toThrow(/owned by uid 65534/);
  });
});

describe('releases and sweeps (GC, operators)', () => {
  test('releaseAll unlinks, drops owners left with nothing, keeps the rest', () => {
    addAll(a, ['10.1.2.2']);
    addAll(b, ['10.1.2.3']);
    const state = open();
    const all = state.reservations();
    const { released, failures } = state.releaseAll(all.filter((r) => r.owner.containerId === 'a'), all);
    expect(failures).toEqual([]);
    expect(released.map((r) => formatIP(r.ip))).toEqual(['10.1.2.2']);
    expect(fs.readdirSync(file('attachments'))).toEqual(['b:eth0']);
    expect(open().held(b).ips.map(formatIP)).toEqual(['10.1.2.3']);
  });

  test('sweep drops empty index entries and dead processes\' temp files; keeps intents it is told to and live temp files', () => {
    const state = open();
    fs.writeFileSync(file('attachments/a:eth0'), JSON.stringify({ containerId: 'a', ifname: 'eth0', ips: ['10.1.2.2'], since: '' }));
    AddClaim.prepare(state, b, undefined); // b's ADD in flight
    const live = `.tmp-10.1.2.9-${process.pid.toString(36)}-abc`;
    fs.writeFileSync(file(`ips/${live}`), '');
    fs.writeFileSync(file('ips/.tmp-10.1.2.8-zzzzzz-abc'), ''); // no such pid
    state.sweep([], (att) => att.containerId === 'b');
    expect(fs.readdirSync(file('attachments'))).toEqual(['b:eth0']);
    expect(fs.readdirSync(file('ips'))).toEqual([live]);
    state.sweep([], () => false);
    expect(fs.readdirSync(file('attachments'))).toEqual([]);
  });

  test('the cursor is tagged with its range set', () => {
    const state = open();
    state.moveCursor([{ index: 0, set, ip: ip('10.1.2.7') }], warnNever);
    expect(formatIP(open().lastReserved(0, set)!)).toBe('10.1.2.7');
    expect(open().lastReserved(0, canonicalizeRangeSets([[{ subnet: '10.1.3.0/24' }]], 'r')[0]!)).toBeUndefined();
  });
});

test('underLock: one holder at a time, released whatever the work does', async () => {
  const state = open();
  let release!: () => void;
  const holding = underLock(state, options(), () => new Promise<void>((r) => (release = r)));
  await expect(underLock(state, { ...options(), lockTimeoutMs: 50 }, () => 'never')).rejects.toBeInstanceOf(TryAgainError);
  release();
  await holding;
  await expect(underLock(state, options(), () => Promise.reject(new Error('work failed')))).rejects.toThrow('work failed');
  await expect(underLock(state, options(), () => 'next')).resolves.toBe('next');
});
