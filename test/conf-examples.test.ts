/**
 * Every example in conf-examples/ is loaded and validated as the plugin validates it;
 * node-local examples also serve a real ADD (their dataDir pointed at a temp directory).
 * The deployment manifests (*.yaml) are run by test/e2e/daemonset.test.ts and their
 * ClusterRoles checked by test/modes/kubernetes/rbac.test.ts; this only makes sure
 * none is left out of those.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseIpamCommon } from '../src/cni/ipam-config';
import { parseNetConf } from '../src/cni/netconf';
import { loadMode } from '../src/modes';
import { CRDS, MANIFESTS, readObjects } from './helpers/manifest';
import { CLAIMS_PATH, HEARTBEATS_PATH } from '../src/store/cluster/kube-claim-objects';
import { ROOT, runPlugin, tempDataDir } from './helpers/run-plugin';

const dir = path.join(ROOT, 'conf-examples');
const examples = fs.readdirSync(dir).filter((f) => /\.(conf|conflist|json)$/.test(f));

/** The plugin configs a runtime would hand to pod-ipam: conflist entries get name and cniVersion. */
function pluginConfs(file: string): Record<string, unknown>[] {
  const doc = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const confs = Array.isArray(doc.plugins) ? doc.plugins.map((p: object) => ({ cniVersion: doc.cniVersion, name: doc.name, ...p })) : [doc];
  return confs.filter((c: { ipam?: { type?: string } }) => c.ipam?.type === 'pod-ipam');
}

test('there are examples', () => {
  expect(examples.length).toBeGreaterThanOrEqual(3);
});

test('every manifest is one the deployment tests run (one per mode and cluster store), or the CRDs', () => {
  expect(fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()).toEqual([...MANIFESTS, ...CRDS].sort());
});

test('the CRDs are the resources the kubernetes store calls: cluster-scoped, block/node/network/age columns for claims', () => {
  const crds = readObjects('cluster-pool-crds.yaml');
  expect(crds.map((c) => c.kind)).toEqual(['CustomResourceDefinition', 'CustomResourceDefinition']);
  const paths = crds.map((c) => `/apis/${c.spec.group}/${c.spec.versions[0].name}/${c.spec.names.plural}`);
  expect(paths).toEqual([CLAIMS_PATH, HEARTBEATS_PATH]);
  for (const c of crds) {
    expect(c.metadata.name).toBe(`${c.spec.names.plural}.${c.spec.group}`);
    expect(c.spec.scope).toBe('Cluster');
    expect(c.spec.versions).toHaveLength(1);
    expect(c.spec.versions[0]).toMatchObject({ served: true, storage: true });
  }
  const claims = crds[0].spec.versions[0];
  expect(claims.additionalPrinterColumns.map((col: { name: string; jsonPath: string }) => `${col.name} ${col.jsonPath}`)).toEqual(['Block .spec.block', 'Node .spec.node', 'Network .spec.network', 'Age .metadata.creationTimestamp']);
  expect(claims.schema.openAPIV3Schema.properties.spec.required).toEqual(['block', 'node', 'network']);
});

describe.each(examples)('%s', (file) => {
  test('has a pod-ipam config that validates', async () => {
    const confs = pluginConfs(file);
    expect(confs.length).toBeGreaterThan(0);
    for (const conf of confs) {
      const netconf = parseNetConf(JSON.stringify(conf));
      const common = parseIpamCommon(netconf.ipam);
      const factory = await loadMode(common.mode);
      const ctx = { network: netconf.name, stateDir: '/nonexistent', dataDir: common.dataDir, env: {}, runtimeConfig: {}, cniArgs: new Map(), log: () => undefined, warn: () => undefined };
      expect(() => factory(netconf.ipam, ctx)).not.toThrow();
    }
  });

  const nodeLocal = pluginConfs(file).filter((c) => ((c.ipam as { mode?: string }).mode ?? 'node-local') === 'node-local');
  if (nodeLocal.length > 0) test('serves an ADD', async () => {
    const { dir: dataDir, cleanup } = tempDataDir();
    try {
      for (const conf of nodeLocal) {
        const out = await runPlugin({ command: 'ADD', stdin: { ...conf, ipam: { ...(conf.ipam as object), dataDir } } });
        expect(out.code).toBe(0);
        expect(out.json.ips.length).toBe(((conf.ipam as { ranges?: unknown[] }).ranges ?? [1]).length);
      }
    } finally {
      cleanup();
    }
  });
});
