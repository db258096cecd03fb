/**
 * The operator CLI: what the executable does when CNI_COMMAND is not set. commander's
 * exitOverride() and configureOutput() keep it testable and keep stdout for results only.
 */
import { Command, CommanderError } from 'commander';
import { PodIpamError } from '../core/errors';
import { VERSION } from '../version';
import { registerBlocksView } from './commands/blocks-view';
import { registerGc } from './commands/gc';
import { registerLog } from './commands/log';
import { registerMetrics } from './commands/metrics';
import { registerPlan } from './commands/plan';
import { registerRelease } from './commands/release';
import { registerStatus } from './commands/status';
import { registerValidate } from './commands/validate';
import { registerBlocks } from './commands/blocks';
import { registerInstall } from './commands/install';
import { CliError } from './commands/common';
import { registerReconcile } from './commands/reconcile';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Adds a command to the program; each lives in src/cli/commands/<name>.ts. */
export type CommandRegistrar = (program: Command, io: CliIO) => void;

const REGISTRARS: CommandRegistrar[] = [registerStatus, registerPlan, registerValidate, registerRelease, registerGc, registerBlocks, registerBlocksView, registerMetrics, registerInstall, registerLog, registerReconcile];

/** Usage errors exit 2 (as commander does), failures of the work itself exit 1. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const program = new Command('pod-ipam')
    .description('CNI IPAM plugin. Run by a container runtime with CNI_COMMAND set; without it, these operator commands.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const register of REGISTRARS) register(program, io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof PodIpamError) {
      io.stderr(`pod-ipam: ${e.message}${e.details ? `\n  ${e.details}` : ''}\n`);
      return e instanceof CliError ? e.exitCode : 1;
    }
    io.stderr(`pod-ipam: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
