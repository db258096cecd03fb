/**
 * Many processes racing on one network: the lock must serialize them so that no address
 * is handed out twice, exactly as many succeed as there are free addresses, and the rest
 * get a clean CNI error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeLocalConf, runPlugin, tempDataDir } from '../helpers/run-plugin';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

test('60 racers, 20 free addresses: 20 distinct successes, 40 code-100 errors', async () => {
  // 10.1.2.0/27 with rangeEnd .21: .2 to .21 are free (.1 is the gateway).
  const conf = nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '10.1.2.0/27', rangeEnd: '10.1.2.21' }]], lockTimeoutSeconds: 60 });
  const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => runPlugin({ command: 'ADD', containerId: `racer-${i}`, stdin: conf, timeoutMs: 90000 })));
  const ok = outcomes.filter((o) => o.code === 0);
  const failed = outcomes.filter((o) => o.code !== 0);
  expect(ok).toHaveLength(20);
  const addresses = ok.map((o) => o.json.ips[0].address);
  expect(new Set(addresses).size).toBe(20);
  expect(failed.map((o) => o.json.code)).toEqual(Array(40).fill(100));
  // The state agrees: 20 address files, each owned by a racer that was told it got it.
  const files = fs.readdirSync(path.join(dataDir, 'testnet', 'ips')).sort();
  expect(files).toEqual(addresses.map((a: string) => a.split('/')[0]).sort());
}, 120000);

test('100 parallel ADDs then 100 parallel DELs on a /24', async () => {
  const conf = nodeLocalConf(dataDir, {}, { lockTimeoutSeconds: 60 });
  const adds = await Promise.all(Array.from({ length: 100 }, (_, i) => runPlugin({ command: 'ADD', containerId: `p-${i}`, stdin: conf, timeoutMs: 90000 })));
  expect(adds.filter((o) => o.code === 0)).toHaveLength(100);
  expect(new Set(adds.map((o) => o.json.ips[0].address)).size).toBe(100);
  const dels = await Promise.all(Array.from({ length: 100 }, (_, i) => runPlugin({ command: 'DEL', containerId: `p-${i}`, stdin: conf, timeoutMs: 90000 })));
  expect(dels.filter((o) => o.code === 0)).toHaveLength(100);
  expect(fs.readdirSync(path.join(dataDir, 'testnet', 'ips'))).toEqual([]);
  expect(fs.readdirSync(path.join(dataDir, 'testnet', 'attachments'))).toEqual([]);
}, 180000);
