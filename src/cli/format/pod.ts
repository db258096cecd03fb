/** How tables show the pod recorded with a reservation. */
import type { PodIdentity } from '../../core/pod';
import { podRef } from '../../core/pod';

/**
 * `namespace/name`; `-` when the runtime named no pod (podman, a hand-made call, or a
 * reservation made before pod-ipam recorded pods). A pod known only by its UID shows it.
 */
export const podColumn = (pod: PodIdentity | null | undefined): string => podRef(pod ?? undefined) ?? (pod?.uid ? `uid ${pod.uid}` : '-');
