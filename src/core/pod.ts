/**
 * The Kubernetes pod behind an attachment, as runtimes pass it in CNI_ARGS
 * (K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID; kubelet's CRI runtimes set them, podman
 * and hand-made calls do not). The one place these keys are read: the identity recorded
 * with each reservation, the `pod` of the audit log line and the pod whose annotation
 * kubernetes mode reads all come from `podIdentity()` here. CNI_ARGS itself is parsed in
 * cni/env.ts.
 *
 * Recorded so that an operator can ask which pod holds an address, and so that
 * `pod-ipam reconcile` can release the addresses of pods the API server no longer has
 * (by `uid`: a pod recreated under the same name is another pod).
 */
export interface PodIdentity {
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
}

/** The pod named by CNI_ARGS, or undefined when it names none. Empty values count as absent. */
export function podIdentity(args: ReadonlyMap<string, string>): PodIdentity | undefined {
  const namespace = args.get('K8S_POD_NAMESPACE') || undefined;
  const name = args.get('K8S_POD_NAME') || undefined;
  const uid = args.get('K8S_POD_UID') || undefined;
  if (!namespace && !name && !uid) return undefined;
  return { ...(namespace ? { namespace } : {}), ...(name ? { name } : {}), ...(uid ? { uid } : {}) };
}

/** `namespace/name` as operators write it (kubectl, `--pod`), or undefined without a name. */
export const podRef = (pod: PodIdentity | undefined): string | undefined => (pod?.name ? `${pod.namespace ?? ''}/${pod.name}` : undefined);
