/** Reads a conf-examples deployment manifest: its objects by kind, and the DaemonSet's install container. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './run-plugin';

export const MANIFESTS = ['deploy-node-local.yaml', 'deploy-kubernetes.yaml', 'deploy-cluster-pool.yaml', 'deploy-cluster-pool-etcd.yaml'];
/** Custom resource definitions a manifest needs applied first (deploy-cluster-pool.yaml: its kubernetes store). */
export const CRDS = ['cluster-pool-crds.yaml'];

/** Every object of a conf-examples YAML file, in file order. */
export function readObjects(file: string): any[] {
  const docs = parseAllDocuments(fs.readFileSync(path.join(ROOT, 'conf-examples', file), 'utf8'));
  if (!Array.isArray(docs)) throw new Error(`${file}: no documents`);
  for (const d of docs) if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
  return docs.map((d) => d.toJS());
}

export interface Manifest {
  readonly file: string;
  /** Objects in file order. */
  readonly objects: any[];
  byKind(kind: string): any;
  /** The DaemonSet's container that runs `pod-ipam install`. */
  readonly container: any;
  /** The container's `--name=value` arguments. */
  readonly args: Map<string, string | true>;
  /** The ConfigMap's conflist template (the one the --template argument names). */
  readonly template: { key: string; text: string };
}

export function readManifest(file: string): Manifest {
  const docs = parseAllDocuments(fs.readFileSync(path.join(ROOT, 'conf-examples', file), 'utf8'));
  if (!Array.isArray(docs)) throw new Error(`${file}: no documents`);
  for (const d of docs) if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
  const objects = docs.map((d) => d.toJS());
  const byKind = (kind: string): any => {
    const found = objects.filter((o) => o?.kind === kind);
    if (found.length !== 1) throw new Error(`${file}: ${found.length} objects of kind ${kind}`);
    return found[0];
  };
  const pod = byKind('DaemonSet').spec.template.spec;
  const container = pod.containers.find((c: any) => c.command?.includes('install'));
  const args = new Map<string, string | true>(
    (container.args as string[]).map((a) => {
      const eq = a.indexOf('=');
      return eq < 0 ? [a, true] : [a.slice(0, eq), a.slice(eq + 1)];
    }),
  );
  const templatePath = args.get('--template') as string;
  const mount = container.volumeMounts.find((m: any) => templatePath.startsWith(`${m.mountPath}/`));
  const volume = pod.volumes.find((v: any) => v.name === mount.name);
  const cm = byKind('ConfigMap');
  if (volume.configMap?.name !== cm.metadata.name) throw new Error(`${file}: --template is not in the ConfigMap's volume`);
  const key = templatePath.slice(mount.mountPath.length + 1);
  return { file, objects, byKind, container, args, template: { key, text: cm.data[key] } };
}
