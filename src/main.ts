/**
 * Composition root and the only file that touches process.*. With CNI_COMMAND set the
 * executable is a CNI plugin; without it, the operator CLI (loaded only then, so the
 * plugin path never pays for commander).
 */
import * as fs from 'node:fs';
import { dispatch } from './cni/dispatch';
import type { Logger } from './cni/request';
import { useNormalJitPolicy } from './jit-policy';

const debug = process.env.POD_IPAM_LOG === 'debug';
const logger: Logger = {
  debug: (m) => {
    if (debug) writeFd(2, `pod-ipam: ${m}\n`);
  },
  warn: (m) => writeFd(2, `pod-ipam: warning: ${m}\n`),
};

/**
 * Reads all of stdin, synchronously from fd 0 rather than through process.stdin: under Bun
 * the stream machinery behind process.stdin (and process.stdout) costs over 10 ms of a
 * ~20 ms call (scripts/bench-startup.mjs). A runtime hands us a pipe or a file; a terminal
 * gives nothing (never wait for a human to type a config); a non-blocking pipe that is
 * momentarily empty (EAGAIN) is waited for, without losing what was already read.
 */
async function readStdin(): Promise<string> {
  if (fs.fstatSync(0).isCharacterDevice() && (require('node:tty') as typeof import('node:tty')).isatty(0)) return '';
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EOF') break;
      if (code !== 'EAGAIN') throw e;
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to fd 1 or 2 synchronously (see readStdin); a reader that went away
 * (EPIPE) is not an error of ours; a non-blocking pipe that is full is waited for.
 */
function writeFd(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return;
      if (code !== 'EAGAIN') throw e;
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
}

async function main(): Promise<number> {
  if (process.env.CNI_COMMAND === undefined) {
    useNormalJitPolicy();
    const { runCli } = await import('./cli/program');
    // Written synchronously, as the plugin's answer: into a pipe, Bun's process.stdout is
    // asynchronous and the exit below cut a large output short (`status` of 10,000
    // reservations piped to `wc -l` printed 993 lines).
    return runCli(process.argv.slice(2), { stdout: (s) => writeFd(1, s), stderr: (s) => writeFd(2, s), env: process.env });
  }
  let stdin: string;
  try {
    stdin = await readStdin();
  } catch (e) {
    writeFd(1, cniErrorJson(5, 'cannot read the network configuration from stdin', e));
    return 1;
  }
  const outcome = await dispatch(process.env, stdin, logger);
  writeFd(1, outcome.stdout);
  return outcome.exitCode;
}

const cniErrorJson = (code: number, msg: string, e: unknown): string =>
  `${JSON.stringify({ cniVersion: '1.1.0', code, msg, details: e instanceof Error ? e.message : String(e) })}\n`;

// Exit explicitly once the answer is written (stdout to a pipe or file is synchronous on
// Linux): a stray timer or keep-alive socket must never keep a runtime waiting.
main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    // Unreachable by design (dispatch catches everything); if it happens, the runtime
    // still gets one CNI error object and the stack goes to stderr only.
    writeFd(2, `pod-ipam: fatal: ${e instanceof Error ? e.stack : String(e)}\n`);
    if (process.env.CNI_COMMAND !== undefined) writeFd(1, cniErrorJson(199, 'internal error', e));
    process.exit(1);
  },
);
