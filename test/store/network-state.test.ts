import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptStateError, IoError, TryAgainError } from '../../src/core/errors';
import { formatIP, parseIP } from '../../src/core/ip';
import { canonicalizeRangeSets } from '../../src/core/range-set';
import { NetworkState } from '../../src/store/network-state';
import { withNetworkState } from '../../src/store/network-store';
import { lockDir } from '../../src/store/lock';
import { tempDataDir } from '../helpers/run-plugin';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

const a = { containerId: 'a', ifname: 'eth0' };
const b = { containerId: 'b', ifname: 'eth0' };
const ip = (t: string) => parseIP(t)!;
const set = canonicalizeRangeSets([[{ subnet: '10.1.2.0/24' }]], 'r')[0]!;
const open = () => new NetworkState(path.join(dataDir, 'net'), () => undefined);

describe('NetworkState', () => {
  test('directories 0700, files 0600', () => {
    const state = open();
    state.reserve(a, [ip('10.1.2.2')], [{ index: 0, set, ip: ip('10.1.2.2') }]);
    for (const d of ['net', 'net/ips', 'net/attachments']) expect(fs.statSync(path.join(dataDir, d)).mode & 0o777).toBe(0o700);
    for (const f of ['net/ips/10.1.2.2', 'net/attachments/a:eth0', 'net/cursor.json']) expect(fs.statSync(path.join(dataDir, f)).mode & 0o777).toBe(0o600);
  });

  test('reserve, held, release; the cursor is tagged with its range set', () => {
    const state = open();
    state.reserve(a, [ip('10.1.2.7')], [{ index: 0, set, ip: ip('10.1.2.7') }]);
    expect(state.ownerOf(ip('10.1.2.7'))).toEqual(a);
    expect(formatIP(state.lastReserved(0, set)!)).toBe('10.1.2.7');
    const other = canonicalizeRangeSets([[{ subnet: '10.1.3.0/24' }]], 'r')[0]!;
    expect(open().lastReserved(0, other)).toBeUndefined();
    expect(state.held(a).ips.map(formatIP)).toEqual(['10.1.2.7']);
    expect(state.release(a).map(formatIP)).toEqual(['10.1.2.7']);
    expect(state.ownerOf(ip('10.1.2.7'))).toBeUndefined();
    expect(state.release(a)).toEqual([]);
  });

  test('an index naming an address the attachment does not hold is reported stale, never trusted', () => {
    const state = open();
    // As after a kill -9 between writing the index and claiming the address file:
    fs.writeFileSync(path.join(dataDir, 'net/attachments/a:eth0'), JSON.stringify({ containerId: 'a', ifname: 'eth0', ips: ['10.1.2.2'], since: '' }));
    state.reserve(b, [ip('10.1.2.2')], []);
    expect(state.held(a)).toEqual({ ips: [], stale: [ip('10.1.2.2')], indexed: true });
    expect(state.release(a)).toEqual([]);
    expect(state.ownerOf(ip('10.1.2.2'))).toEqual(b);
  });

  test('corrupt state is an error, never a reset', () => {
    const state = open();
    fs.writeFileSync(path.join(dataDir, 'net/ips/10.1.2.2'), '{not json');
    expect(() => state.ownerOf(ip('10.1.2.2'))).toThrow(CorruptStateError);
    fs.writeFileSync(path.join(dataDir, 'net/attachments/a:eth0'), '{"ips": 3}');
    expect(() => state.held(a)).toThrow(CorruptStateError);
  });

  test('refuses a symlink planted in place of state', () => {
    const state = open();
    const target = path.join(dataDir, 'elsewhere');
    fs.writeFileSync(target, JSON.stringify({ containerId: 'x', ifname: 'eth0' }));
    fs.symlinkSync(target, path.join(dataDir, 'net/ips/10.1.2.2'));
    expect(() => state.ownerOf(ip('10.1.2.2'))).toThrow(IoError);
    fs.rmSync(path.join(dataDir, 'net/attachments'), { recursive: true });
    fs.symlinkSync(dataDir, path.join(dataDir, 'net/attachments'));
    expect(() => open()).toThrow(IoError);
  });

  test('an exclusive claim never replaces an address file that appeared under us', () => {
    const state = open();
    fs.writeFileSync(path.join(dataDir, 'net/ips/10.1.2.2'), JSON.stringify({ containerId: 'b', ifname: 'eth0' }));
    // The view says free (we bypass the allocator): the write must still refuse.
    expect(() => state.reserve(a, [ip('10.1.2.3'), ip('10.1.2.2')], [])).toThrow(CorruptStateError);
    expect(state.ownerOf(ip('10.1.2.2'))).toEqual(b);
    expect(state.ownerOf(ip('10.1.2.3'))).toBeUndefined(); // rolled back
  });

  test('sweep drops empty index entries and temp files', () => {
    const state = open();
    fs.writeFileSync(path.join(dataDir, 'net/attachments/a:eth0'), JSON.stringify({ containerId: 'a', ifname: 'eth0', ips: ['10.1.2.2'], since: '' }));
    fs.writeFileSync(path.join(dataDir, 'net/ips/.tmp-10.1.2.9-abc'), '');
    state.sweep();
    expect(fs.readdirSync(path.join(dataDir, 'net/attachments'))).toEqual([]);
    expect(fs.readdirSync(path.join(dataDir, 'net/ips'))).toEqual([]);
  });
});

describe('the network lock', () => {
  test('a held lock makes others wait, then fail with TryAgainError after the bounded wait', async () => {
    const dir = path.join(dataDir, 'net');
    fs.mkdirSync(dir);
    const held = await lockDir(dir);
    const started = Date.now();
    await expect(withNetworkState({ dataDir, network: 'net', lockTimeoutMs: 300 }, () => 'never')).rejects.toBeInstanceOf(TryAgainError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(2000);
    await held.release();
    await expect(withNetworkState({ dataDir, network: 'net' }, () => 'ok')).resolves.toBe('ok');
  });

  test('a lock left by a killed holder is taken over once stale', async () => {
    const dir = path.join(dataDir, 'net');
    fs.mkdirSync(path.join(dir, '.lock'), { recursive: true });
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(dir, '.lock'), old, old);
    await expect(withNetworkState({ dataDir, network: 'net', lockTimeoutMs: 1000 }, () => 'ok')).resolves.toBe('ok');
  });
});
