/**
 * The Kubernetes pod behind an attachment, as runtimes pass it in CNI_ARGS
 * (K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID). Recorded with each reservation, so that
 * an operator can ask which pod holds an address; never used to decide anything.
 */
export interface PodIdentity {
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
}

/** The pod named by CNI_ARGS, or undefined when the runtime passed none of the keys. */
export function podIdentity(args: ReadonlyMap<string, string>): PodIdentity | undefined {
  const namespace = args.get('K8S_POD_NAMESPACE');
  const name = args.get('K8S_POD_NAME');
  const uid = args.get('K8S_POD_UID');
  if (!namespace && !name && !uid) return undefined;
  return { ...(namespace ? { namespace } : {}), ...(name ? { name } : {}), ...(uid ? { uid } : {}) };
}

export const describePod = (pod: PodIdentity): string => `${pod.namespace ?? '?'}/${pod.name ?? '?'}`;
