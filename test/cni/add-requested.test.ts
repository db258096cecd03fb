/**
 * ADD with requested addresses and runtime ranges, through the executable as a runtime
 * calls it: a retried ADD returns exactly what the attachment holds, requested addresses
 * are merged per range set with it, every requested-address source is merged as
 * host-local merges them, and runtimeConfig.ipRanges is prepended to the configured ranges.
 */
import { nodeLocalConf, runPlugin, tempDataDir } from '../helpers/run-plugin';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

const dualStack = (extra: Record<string, unknown> = {}) => nodeLocalConf(dataDir, extra, { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/64' }]] });
const addresses = (json: { ips: { address: string }[] }) => json.ips.map((i) => i.address);

test('a retried dual-stack ADD with one requested address keeps the other family (CNI_ARGS IP=)', async () => {
  const cniArgs = 'IgnoreUnknown=1;IP=10.1.2.50';
  const first = await runPlugin({ command: 'ADD', stdin: dualStack(), cniArgs });
  expect(first.code).toBe(0);
  expect(addresses(first.json)).toEqual(['10.1.2.50/24', 'fd00::2/64']);
  for (let i = 0; i < 2; i++) {
    const again = await runPlugin({ command: 'ADD', stdin: dualStack(), cniArgs });
    expect(again.code).toBe(0);
    expect(again.json).toEqual(first.json);
  }
  // fd00::2 is still c1's: another container gets the next one.
  const other = await runPlugin({ command: 'ADD', stdin: dualStack(), containerId: 'c2' });
  expect(addresses(other.json)).toEqual(['10.1.2.51/24', 'fd00::3/64']);
});

test('a retried ADD whose request changes one family keeps the other family', async () => {
  const first = await runPlugin({ command: 'ADD', stdin: dualStack(), cniArgs: 'IP=10.1.2.50' });
  const changed = await runPlugin({ command: 'ADD', stdin: dualStack(), cniArgs: 'IP=10.1.2.60' });
  expect(changed.code).toBe(0);
  expect(addresses(changed.json)).toEqual(['10.1.2.60/24', addresses(first.json)[1]]);
  // the old requested address was released
  const other = await runPlugin({ command: 'ADD', stdin: dualStack(), containerId: 'c2', cniArgs: 'IP=10.1.2.50' });
  expect(other.code).toBe(0);
});

test('a plain ADD after a requested one returns what the attachment holds', async () => {
  const first = await runPlugin({ command: 'ADD', stdin: dualStack(), cniArgs: 'IP=fd00::50' });
  expect(addresses(first.json)).toEqual(['10.1.2.2/24', 'fd00::50/64']);
  const again = await runPlugin({ command: 'ADD', stdin: dualStack() });
  expect(again.json).toEqual(first.json);
});

test('requested addresses from every source are merged, as host-local merges them', async () => {
  const conf = dualStack({ runtimeConfig: { ips: ['fd00::9'] }, args: { cni: { ips: ['10.1.2.9'] } } });
  const out = await runPlugin({ command: 'ADD', stdin: conf });
  expect(out.code).toBe(0);
  expect(addresses(out.json)).toEqual(['10.1.2.9/24', 'fd00::9/64']);
  const env = await runPlugin({ command: 'ADD', stdin: dualStack({ args: { cni: { ips: ['fd00::7'] } } }), containerId: 'c2', cniArgs: 'IP=10.1.2.7' });
  expect(addresses(env.json)).toEqual(['10.1.2.7/24', 'fd00::7/64']);
});

test('two sources asking for different addresses of one range set are refused (code 102), the same address twice is one request', async () => {
  const conflict = await runPlugin({ command: 'ADD', stdin: dualStack({ args: { cni: { ips: ['10.1.2.9'] } } }), cniArgs: 'IP=10.1.2.7' });
  expect(conflict.code).not.toBe(0);
  expect(conflict.json.code).toBe(102);
  const same = await runPlugin({ command: 'ADD', stdin: dualStack({ args: { cni: { ips: ['10.1.2.9'] } } }), cniArgs: 'IP=10.1.2.9' });
  expect(same.code).toBe(0);
  expect(addresses(same.json)[0]).toBe('10.1.2.9/24');
});

test('runtimeConfig.ipRanges is prepended to the configured ranges, as host-local does', async () => {
  const conf = nodeLocalConf(dataDir, { runtimeConfig: { ipRanges: [[{ subnet: 'fd00::/64' }]] } });
  const out = await runPlugin({ command: 'ADD', stdin: conf });
  expect(out.code).toBe(0);
  expect(addresses(out.json)).toEqual(['fd00::2/64', '10.1.2.2/24']);
});

test('::ffff:a.b.c.d is the IPv4 address a.b.c.d: requested, and in exclude', async () => {
  const conf = nodeLocalConf(dataDir, {}, { exclude: ['::ffff:10.1.2.2'] });
  const requested = await runPlugin({ command: 'ADD', stdin: conf, cniArgs: 'IP=::ffff:10.1.2.50' });
  expect(addresses(requested.json)).toEqual(['10.1.2.50/24']);
  const dynamic = await runPlugin({ command: 'ADD', stdin: nodeLocalConf(dataDir, {}, { exclude: ['::ffff:10.1.2.51'] }), containerId: 'c2' });
  expect(addresses(dynamic.json)).toEqual(['10.1.2.52/24']);
  const mappedSubnet = await runPlugin({ command: 'ADD', stdin: nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '::ffff:10.1.3.0/120' }]] }), containerId: 'c3' });
  expect(mappedSubnet.json.code).toBe(7);
});
