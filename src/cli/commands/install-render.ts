/**
 * The conflist a node gets: the template from the ConfigMap with what only the node
 * knows filled into each pod-ipam `ipam` object (its name from the downward API, the
 * kubeconfig (kubernetes mode, and cluster-pool's kubernetes store) and etcd certificate
 * paths the installer wrote on the host). Everything
 * else of the template is passed through untouched. The result must pass `validate`
 * (the plugin's own parsers) before it replaces the file runtimes read.
 */
import * as fs from 'node:fs';
import { POD_IPAM_TYPE } from '../inspect/config-file';
import { CliError } from './common';
import { writeTemp } from './install-files';
import { validateFile } from './validate';

type JsonObject = Record<string, unknown>;
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface Template {
  readonly file: string;
  readonly doc: JsonObject;
  /** The pod-ipam ipam objects of the template (inside `doc`). */
  readonly ipams: readonly JsonObject[];
}

export interface NodeValues {
  readonly nodeName?: string;
  /** Host path of the kubeconfig the installer wrote (kubernetes mode; cluster-pool's kubernetes store). */
  readonly kubeconfig?: string;
  /** Host paths of the etcd client files the installer copied (cluster-pool with etcd). */
  readonly etcdTls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

export const modeOf = (ipam: JsonObject): string => (typeof ipam['mode'] === 'string' ? ipam['mode'] : 'node-local');
export const usesEtcd = (ipam: JsonObject): boolean => modeOf(ipam) === 'cluster-pool' && isObject(ipam['clusterStore']) && ipam['clusterStore']['type'] === 'etcd';
/** cluster-pool whose blocks are claimed as Kubernetes objects: the plugin needs the same kubeconfig as kubernetes mode. */
export const usesKubernetesStore = (ipam: JsonObject): boolean => modeOf(ipam) === 'cluster-pool' && isObject(ipam['clusterStore']) && ipam['clusterStore']['type'] === 'kubernetes';
/** Modes and stores that reach the Kubernetes API, so the installer writes the plugin a kubeconfig. */
export const needsKubeconfig = (ipam: JsonObject): boolean => modeOf(ipam) === 'kubernetes' || usesKubernetesStore(ipam);

/** @throws CliError when the template is unreadable, not JSON or has no pod-ipam entry. */
export function readTemplate(file: string): Template {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`cannot read the conflist template ${file}: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new CliError(`the conflist template ${file} is not a JSON object`);
  const plugins = Array.isArray(doc['plugins']) ? doc['plugins'] : [doc];
  const ipams = plugins.flatMap((p) => (isObject(p) && isObject(p['ipam']) && p['ipam']['type'] === POD_IPAM_TYPE ? [p['ipam']] : []));
  if (ipams.length === 0) throw new CliError(`the conflist template ${file} has no plugin whose ipam type is "${POD_IPAM_TYPE}"`);
  return { file, doc, ipams };
}

/** The template's text with the node's values filled in (a fresh copy; the template is not changed). */
export function renderConflist(template: Template, values: NodeValues): string {
  const doc = JSON.parse(JSON.stringify(template.doc)) as JsonObject;
  const plugins = Array.isArray(doc['plugins']) ? doc['plugins'] : [doc];
  for (const plugin of plugins) {
    if (!isObject(plugin) || !isObject(plugin['ipam']) || plugin['ipam']['type'] !== POD_IPAM_TYPE) continue;
    const ipam = plugin['ipam'];
    const mode = modeOf(ipam);
    if ((mode === 'kubernetes' || mode === 'cluster-pool') && values.nodeName) ipam['nodeName'] = values.nodeName;
    if (mode === 'kubernetes' && values.kubeconfig) ipam['kubeconfig'] = values.kubeconfig;
    if (usesKubernetesStore(ipam) && values.kubeconfig && isObject(ipam['clusterStore'])) ipam['clusterStore']['kubeconfig'] = values.kubeconfig;
    if (usesEtcd(ipam) && values.etcdTls && isObject(ipam['clusterStore'])) ipam['clusterStore']['tls'] = { ...values.etcdTls };
  }
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * Stages `text` for `target` when it differs from what is there: written beside it and
 * checked with `validate`. @returns the staged temp file (commit it with commitTemp, or
 * remove it), undefined when `target` already holds exactly this.
 * @throws CliError listing every problem when validate rejects it (nothing is left behind).
 */
export async function stageConflist(target: string, text: string, env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
  const content = Buffer.from(text);
  try {
    if (fs.readFileSync(target).equals(content) && (fs.statSync(target).mode & 0o777) === 0o644) return undefined;
  } catch {
    // absent or unreadable: write it
  }
  const tmp = writeTemp(target, content, 0o644);
  let problems: { path: string; message: string }[];
  try {
    problems = (await validateFile(tmp, env)).problems;
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  if (problems.length > 0) {
    fs.rmSync(tmp, { force: true });
    throw new CliError(`the rendered conflist is not valid, ${target} is left as it was:\n${problems.map((p) => `  ${p.path || '(top)'}: ${p.message}`).join('\n')}`);
  }
  return tmp;
}
