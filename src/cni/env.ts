/** The CNI environment variables, validated by the rules of the spec (and skel, its reference library). */
import { EnvError } from '../core/errors';
import type { Verb } from './versions';

export interface CniEnv {
  readonly command: Verb;
  readonly containerId: string;
  readonly netns: string;
  readonly ifname: string;
  /** CNI_ARGS as K=V pairs, e.g. IP, K8S_POD_NAMESPACE, K8S_POD_NAME. */
  readonly args: ReadonlyMap<string, string>;
  readonly path: string;
}

const VERBS: readonly Verb[] = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'];
/** The spec's container ID rule; it also keeps an ID from escaping the data directory. */
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Variables that name an attachment or a pod: each must decode cleanly. */
const UNDECODABLE_CHECKED = ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_ARGS'] as const;

const REQUIRED: Record<Verb, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
};

export const isVerb = (value: string | undefined): value is Verb => VERBS.includes(value as Verb);

/** @throws EnvError (CNI code 4) naming every missing or invalid variable. */
export function parseCniEnv(env: Readonly<Record<string, string | undefined>>): CniEnv {
  const command = env.CNI_COMMAND;
  if (!isVerb(command)) throw new EnvError(['CNI_COMMAND'], `CNI_COMMAND ${JSON.stringify(command ?? '')} is not one of ${VERBS.join(', ')}`);
  const problems: string[] = [];
  const bad: string[] = [];
  for (const name of REQUIRED[command]) {
    if (!env[name]) {
      bad.push(name);
      problems.push(`${name} is required for ${command}`);
    }
  }
  // The runtime decodes environment bytes lossily: invalid UTF-8 arrives as U+FFFD, so two
  // different names ($'e\xff', $'e\xfe') would become one attachment and share an address.
  for (const name of UNDECODABLE_CHECKED) {
    if (env[name]?.includes('\uFFFD')) {
      bad.push(name);
      problems.push(`${name} is not valid UTF-8 (or contains U+FFFD); two such values could not be told apart`);
    }
  }
  const containerId = env.CNI_CONTAINERID ?? '';
  if (containerId && !CONTAINER_ID.test(containerId) && !bad.includes('CNI_CONTAINERID')) {
    bad.push('CNI_CONTAINERID');
    problems.push('CNI_CONTAINERID must start with a letter or digit and hold only letters, digits, "_", "." and "-"');
  }
  const ifname = env.CNI_IFNAME ?? '';
  const ifnameProblem = ifname && !bad.includes('CNI_IFNAME') ? checkIfname(ifname) : undefined;
  if (ifnameProblem) {
    bad.push('CNI_IFNAME');
    problems.push(`CNI_IFNAME ${ifnameProblem}`);
  }
  const args = parseCniArgs(env.CNI_ARGS ?? '');
  if (typeof args === 'string' && !bad.includes('CNI_ARGS')) {
    bad.push('CNI_ARGS');
    problems.push(args);
  }
  if (bad.length > 0) throw new EnvError(bad, problems.join('; '));
  return { command, containerId, netns: env.CNI_NETNS ?? '', ifname, args: args as Map<string, string>, path: env.CNI_PATH ?? '' };
}

function checkIfname(name: string): string | undefined {
  if (Buffer.byteLength(name) > 15) return 'is longer than 15 bytes';
  if (name === '.' || name === '..') return 'must not be "." or ".."';
  if (/[/:\s]/.test(name)) return 'must not contain "/", ":" or whitespace';
  return undefined;
}

/** Parses `K=V;K=V`. Unknown keys are kept and ignored later (IgnoreUnknown is the norm). */
function parseCniArgs(text: string): Map<string, string> | string {
  const args = new Map<string, string>();
  if (text === '') return args;
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) return `CNI_ARGS: ${JSON.stringify(pair)} is not KEY=VALUE`;
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return args;
}
