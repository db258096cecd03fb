/**
 * Composition root and the only file that touches process.*. With CNI_COMMAND set the
 * executable is a CNI plugin; without it, the operator CLI (loaded only then, so the
 * plugin path never pays for commander).
 */
import { dispatch } from './cni/dispatch';
import type { Logger } from './cni/request';

const debug = process.env.POD_IPAM_LOG === 'debug';
const logger: Logger = {
  debug: (m) => {
    if (debug) process.stderr.write(`pod-ipam: ${m}\n`);
  },
  warn: (m) => process.stderr.write(`pod-ipam: warning: ${m}\n`),
};

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<number> {
  if (process.env.CNI_COMMAND === undefined) {
    const { runCli } = await import('./cli/program');
    return runCli(process.argv.slice(2), { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), env: process.env });
  }
  let stdin: string;
  try {
    stdin = await readStdin();
  } catch (e) {
    const version = '1.1.0';
    process.stdout.write(`${JSON.stringify({ cniVersion: version, code: 5, msg: 'cannot read stdin', details: (e as Error).message })}\n`);
    return 1;
  }
  const outcome = await dispatch(process.env, stdin, logger);
  process.stdout.write(outcome.stdout);
  return outcome.exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Unreachable by design (dispatch catches everything); keep stdout clean if it happens.
    process.stderr.write(`pod-ipam: fatal: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  },
);
