/**
 * The built plugin in the situations a runtime puts it in, where Bun's runtime and Node's
 * could differ: the working directory it is started in, how stdin arrives, a host without
 * Node.js. Runs against the single executable.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXECUTABLE, cniEnv, nodeLocalConf, pluginCommand, tempDataDir } from '../helpers/run-plugin';
import type { PluginCall } from '../helpers/run-plugin';


interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the plugin with full control over cwd, environment and how stdin is fed. */
function start(call: PluginCall, opts: { cwd?: string; env?: Record<string, string>; command?: string[]; stdin: (w: NodeJS.WritableStream) => unknown } | { cwd?: string; env?: Record<string, string>; command?: string[]; stdinFd: number }): Promise<Run> {
  const [cmd, ...args] = opts.command ?? pluginCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { cwd: opts.cwd ?? process.cwd(), env: opts.env ?? cniEnv(call), stdio: ['stdinFd' in opts ? opts.stdinFd : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if ('stdin' in opts) {
      child.stdin!.on('error', () => undefined);
      void opts.stdin(child.stdin!);
    }
  });
}

let data: ReturnType<typeof tempDataDir>;
beforeEach(() => {
  data = tempDataDir();
});
afterEach(() => data.cleanup());

const firstAddress = (run: Run): string => (JSON.parse(run.stdout) as { ips: { address: string }[] }).ips[0]!.address;

test('.env and bunfig.toml in the working directory change nothing', async () => {
  // A compiled Bun program reads both by default; ours is built not to. A runtime may
  // start plugins in any directory, and pod-ipam takes its config from stdin and CNI_* only.
  const cwd = path.join(data.dir, 'cwd');
  fs.mkdirSync(cwd);
  const marker = path.join(cwd, 'preloaded');
  fs.writeFileSync(path.join(cwd, '.env'), 'POD_IPAM_LOG=debug\n');
  fs.writeFileSync(path.join(cwd, 'bunfig.toml'), 'preload = ["./preload.js"]\n');
  fs.writeFileSync(path.join(cwd, 'preload.js'), `require("fs").writeFileSync(${JSON.stringify(marker)}, "x");\n`);
  const conf = JSON.stringify(nodeLocalConf(path.join(data.dir, 'state')));
  const run = await start({ command: 'ADD' }, { cwd, stdin: (w) => w.end(conf) });
  expect(run.code).toBe(0);
  expect(firstAddress(run)).toBe('10.1.2.2/24');
  expect(fs.existsSync(marker)).toBe(false);
  expect(run.stderr).toBe('');
  // The same debug switch in the real environment does log: the check above can fail.
  const debug = await start({ command: 'ADD', containerId: 'c2' }, { cwd, env: { ...cniEnv({ command: 'ADD', containerId: 'c2' }), POD_IPAM_LOG: 'debug' }, stdin: (w) => w.end(conf) });
  expect(debug.code).toBe(0);
  expect(debug.stderr).toContain('pod-ipam:');
});

describe('stdin', () => {
  const conf = () => JSON.stringify(nodeLocalConf(data.dir));

  test('from a regular file', async () => {
    const file = path.join(data.dir, 'conf.json');
    fs.writeFileSync(file, conf());
    const fd = fs.openSync(file, 'r');
    try {
      const run = await start({ command: 'ADD' }, { stdinFd: fd });
      expect({ code: run.code, address: firstAddress(run) }).toEqual({ code: 0, address: '10.1.2.2/24' });
    } finally {
      fs.closeSync(fd);
    }
  });

  test('written slowly in small pieces', async () => {
    const text = conf();
    const run = await start({ command: 'ADD' }, {
      stdin: async (w) => {
        for (let i = 0; i < text.length; i += 7) {
          w.write(text.slice(i, i + 7));
          if (i % 49 === 0) await new Promise((r) => setTimeout(r, 5));
        }
        w.end();
      },
    });
    expect({ code: run.code, address: firstAddress(run) }).toEqual({ code: 0, address: '10.1.2.2/24' });
  });

  test('larger than a pipe buffer (2 MiB, the bulk in a key pod-ipam ignores)', async () => {
    const big = JSON.stringify({ ...nodeLocalConf(data.dir), padding: 'x'.repeat(2 * 1024 * 1024) });
    const run = await start({ command: 'ADD' }, { stdin: (w) => w.end(big) });
    expect({ code: run.code, address: firstAddress(run) }).toEqual({ code: 0, address: '10.1.2.2/24' });
  });

  test('a non-blocking pipe that runs dry mid-config (EAGAIN): waited for, nothing lost', async () => {
    // Node cannot hand a child a non-blocking stdin; python3 can (skipped without it).
    if (spawnSync('python3', ['-c', 'pass']).status !== 0) return void console.warn('python3 missing: non-blocking stdin not tested');
    const script = [
      'import os, subprocess, sys, time',
      'r, w = os.pipe()',
      'os.set_blocking(r, False)',
      'p = subprocess.Popen(sys.argv[2:], stdin=r, stdout=subprocess.PIPE)',
      'os.close(r)',
      'conf = sys.argv[1].encode()',
      'os.write(w, conf[:20]); time.sleep(0.3); os.write(w, conf[20:]); os.close(w)',
      'sys.stdout.write(p.communicate()[0].decode()); sys.exit(p.returncode)',
    ].join('\n');
    const run = spawnSync('python3', ['-c', script, conf(), ...pluginCommand()], { env: cniEnv({ command: 'ADD' }), encoding: 'utf8' });
    expect({ code: run.status, address: firstAddress({ code: run.status, stdout: run.stdout, stderr: run.stderr }) }).toEqual({ code: 0, address: '10.1.2.2/24' });
  });

  test('a terminal: no config (code 6) at once, never waiting for someone to type', () => {
    if (spawnSync('script', ['-V']).status !== 0) return void console.warn('script(1) missing: terminal stdin not tested');
    const cmd = pluginCommand().map((a) => `'${a}'`).join(' ');
    // script(1) gives the plugin a pseudo-terminal as stdin; nobody types. A plugin that
    // waited would be killed by the timeout, and its status would be null, not 1.
    const run = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: cniEnv({ command: 'ADD' }), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ code: 6 });
  });

  test('empty (/dev/null): one CNI error, exit 1', async () => {
    const fd = fs.openSync('/dev/null', 'r');
    try {
      const run = await start({ command: 'ADD' }, { stdinFd: fd });
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout)).toMatchObject({ code: 6 });
    } finally {
      fs.closeSync(fd);
    }
  });
});

// Only the single executable can be self-contained; the bundle needs node by design.
test('the executable is self-contained: copied elsewhere, no PATH, no HOME, cwd /', async () => {
  const bin = path.join(data.dir, 'bin', 'pod-ipam');
  fs.mkdirSync(path.dirname(bin));
  fs.copyFileSync(EXECUTABLE, bin);
  fs.chmodSync(bin, 0o755);
  const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/x', CNI_PATH: '/opt/cni/bin' };
  const conf = JSON.stringify(nodeLocalConf(path.join(data.dir, 'state')));
  const run = await start({ command: 'ADD' }, { command: [bin], cwd: '/', env, stdin: (w) => w.end(conf) });
  expect({ code: run.code, stderr: run.stderr, address: firstAddress(run) }).toEqual({ code: 0, stderr: '', address: '10.1.2.2/24' });
});

test('a container ID too long for a file name (hashed with lazily loaded node:crypto)', async () => {
  const containerId = `c${'0123456789abcdef'.repeat(16)}`;
  const conf = JSON.stringify(nodeLocalConf(data.dir));
  const env = (command: string) => cniEnv({ command: command as PluginCall['command'], containerId });
  const add = await start({ command: 'ADD', containerId }, { env: env('ADD'), stdin: (w) => w.end(conf) });
  expect({ code: add.code, address: firstAddress(add) }).toEqual({ code: 0, address: '10.1.2.2/24' });
  const attachments = fs.readdirSync(path.join(data.dir, 'testnet', 'attachments'));
  expect(attachments).toEqual([expect.stringMatching(/^sha256-[0-9a-f]{64}$/)]);
  const again = await start({ command: 'ADD', containerId }, { env: env('ADD'), stdin: (w) => w.end(conf) });
  expect(firstAddress(again)).toBe('10.1.2.2/24');
  const del = await start({ command: 'DEL', containerId }, { env: env('DEL'), stdin: (w) => w.end(conf) });
  expect(del.code).toBe(0);
  expect(fs.readdirSync(path.join(data.dir, 'testnet', 'attachments'))).toEqual([]);
});
