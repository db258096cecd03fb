/**
 * The pod a call is for, as runtimes pass it in CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME,
 * K8S_POD_UID; kubelet's CRI runtimes set them, podman and hand-made calls do not). The
 * one place these keys are read for recording; CNI_ARGS itself is parsed in env.ts.
 */
import type { PodIdentity } from '../audit/fields';

export type { PodIdentity };

/** Undefined when CNI_ARGS names no pod. Empty values count as absent. */
export function podIdentity(args: ReadonlyMap<string, string>): PodIdentity | undefined {
  const namespace = args.get('K8S_POD_NAMESPACE') || undefined;
  const name = args.get('K8S_POD_NAME') || undefined;
  const uid = args.get('K8S_POD_UID') || undefined;
  if (!namespace && !name && !uid) return undefined;
  return { ...(namespace ? { namespace } : {}), ...(name ? { name } : {}), ...(uid ? { uid } : {}) };
}

/** `namespace/name` as operators write it (kubectl, `pod-ipam log --pod`). */
export const podRef = (pod: PodIdentity | undefined): string | undefined => (pod?.name ? `${pod.namespace ?? ''}/${pod.name}` : undefined);
