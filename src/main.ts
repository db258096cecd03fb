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
    process.stdout.write(cniErrorJson(5, 'cannot read the network configuration from stdin', e));
    return 1;
  }
  const outcome = await dispatch(process.env, stdin, logger);
  process.stdout.write(outcome.stdout);
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
    process.stderr.write(`pod-ipam: fatal: ${e instanceof Error ? e.stack : String(e)}\n`);
    if (process.env.CNI_COMMAND !== undefined) process.stdout.write(cniErrorJson(199, 'internal error', e));
    process.exit(1);
  },
);
