/**
 * The data directory on a full disk (a tiny tmpfs) and read-only (the tmpfs remounted ro):
 * every call that would write fails with a clear CNI error (code 104, nothing on stdout
 * but that one JSON object), the previous state is byte-for-byte intact, and service is
 * normal again once space is back or the mount is writable. Needs root (mount); skipped
 * otherwise.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isAuditLogFile } from '../helpers/audit-log';
import { nodeLocalConf, runPlugin } from '../helpers/run-plugin';
import type { PluginOutcome } from '../helpers/run-plugin';

const canMount = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-mountprobe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
})();
const describeRoot = canMount ? describe : describe.skip;

let mnt: string;
beforeEach(() => {
  mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mnt]);
});
afterEach(() => {
  try {
    execFileSync('umount', [mnt]);
  } finally {
    fs.rmSync(mnt, { recursive: true, force: true });
  }
});

/** Every file and directory under `dir` with its bytes (directories as "<dir>"). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (isAuditLogFile(rel)) continue; // a record of calls, not state (test/helpers/audit-log.ts)
      if (e.isDirectory()) {
        out[rel] = '<dir>';
        walk(p);
      } else out[rel] = fs.readFileSync(p, 'base64');
    }
  };
  walk(dir);
  return out;
}

/** Fills the tmpfs, then gives back `pages` 4 KiB pages. */
function fillLeaving(pages: number): void {
  const filler = path.join(mnt, 'filler');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
  fs.truncateSync(filler, Math.max(0, fs.statSync(filler).size - pages * 4096));
}

function expectStoreWriteError(out: PluginOutcome): void {
  expect(out.code).toBe(1);
  expect(out.json).toMatchObject({ code: 104, cniVersion: '1.1.0' });
  expect(out.json.msg).toMatch(/disk is full|read-only/);
  expect(out.stdout.trim().split('\n')).toHaveLength(1);
  expect(out.stdout).not.toMatch(/\bat .*:\d+/);
}

describeRoot('data directory faults', () => {
  test('full disk: code 104 with the state unchanged at every amount of space left; normal once space is back', async () => {
    const dataDir = path.join(mnt, 'data');
    const conf = nodeLocalConf(dataDir);
    const first = await runPlugin({ command: 'ADD', containerId: 'before', stdin: conf });
    expect(first.code).toBe(0);
    const held = first.json.ips[0].address;
    let refused = 0;
    // From no free page to enough for an ADD: each write of the ADD in turn meets ENOSPC.
    for (let pages = 0; pages <= 6; pages++) {
      fillLeaving(pages);
      const before = snapshot(dataDir);
      const out = await runPlugin({ command: 'ADD', containerId: `full-${pages}`, stdin: conf });
      if (out.code === 0) {
        // It fit: a normal reservation, released again so the next round starts alike.
        expect(out.json.ips[0].address).not.toBe(held);
        expect((await runPlugin({ command: 'DEL', containerId: `full-${pages}`, stdin: conf })).code).toBe(0);
      } else {
        refused++;
        expectStoreWriteError(out);
        expect(snapshot(dataDir)).toEqual(before);
        // With no page left, STATUS tells the runtime it cannot serve ADD now (with a
        // page or two left its probe write still fits, so it cannot know).
        if (pages === 0) expect((await runPlugin({ command: 'STATUS', stdin: conf })).json?.code).toBe(50);
        expect(snapshot(dataDir)).toEqual(before);
      }
      // The pod from before is still fine.
      const check = await runPlugin({ command: 'CHECK', containerId: 'before', stdin: { ...conf, prevResult: first.json } });
      expect(check.code).toBe(0);
      fs.rmSync(path.join(mnt, 'filler'));
    }
    expect(refused).toBeGreaterThan(0);

    // Releasing needs no space: DEL works on a full disk (a runtime cleaning up must not be stuck).
    fillLeaving(0);
    expect((await runPlugin({ command: 'DEL', containerId: 'before', stdin: conf })).code).toBe(0);
    expect(fs.readdirSync(path.join(dataDir, 'testnet', 'ips'))).toEqual([]);
    fs.rmSync(path.join(mnt, 'filler'));

    // Space is back: service is normal.
    const after = await runPlugin({ command: 'ADD', containerId: 'after', stdin: conf });
    expect(after.code).toBe(0);
    expect(after.json.ips[0].address).not.toBe(held);
    expect((await runPlugin({ command: 'STATUS', stdin: conf })).code).toBe(0);
    for (const id of ['before', 'after']) expect((await runPlugin({ command: 'DEL', containerId: id, stdin: conf })).code).toBe(0);
    expect(fs.readdirSync(path.join(dataDir, 'testnet', 'ips'))).toEqual([]);
  });

  test('read-only data directory: ADD and DEL answer code 104, nothing changes; normal after remount rw', async () => {
    const dataDir = path.join(mnt, 'data');
    const conf = nodeLocalConf(dataDir);
    const first = await runPlugin({ command: 'ADD', containerId: 'before', stdin: conf });
    expect(first.code).toBe(0);
    const before = snapshot(dataDir);
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    try {
      expectStoreWriteError(await runPlugin({ command: 'ADD', containerId: 'new', stdin: conf }));
      expectStoreWriteError(await runPlugin({ command: 'DEL', containerId: 'before', stdin: conf }));
      expect((await runPlugin({ command: 'STATUS', stdin: conf })).json?.code).toBe(50);
      // CHECK writes nothing and takes no lock: it works on a read-only file system.
      expect((await runPlugin({ command: 'CHECK', containerId: 'before', stdin: { ...conf, prevResult: first.json } })).code).toBe(0);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mnt]);
    }
    expect(snapshot(dataDir)).toEqual(before);
    const check = await runPlugin({ command: 'CHECK', containerId: 'before', stdin: { ...conf, prevResult: first.json } });
    expect(check.code).toBe(0);
    const again = await runPlugin({ command: 'ADD', containerId: 'new', stdin: conf });
    expect(again.code).toBe(0);
    for (const id of ['before', 'new']) expect((await runPlugin({ command: 'DEL', containerId: id, stdin: conf })).code).toBe(0);
    expect(fs.readdirSync(path.join(dataDir, 'testnet', 'ips'))).toEqual([]);
  });
});
