/** An attachment is what owns addresses: the pair (CNI_CONTAINERID, CNI_IFNAME). */
import type { IP } from './ip';
import type { PodIdentity } from './pod';

export interface Attachment {
  readonly containerId: string;
  readonly ifname: string;
}

export const sameAttachment = (a: Attachment, b: Attachment): boolean =>
  a.containerId === b.containerId && a.ifname === b.ifname;

export const describeAttachment = (a: Attachment): string => `${a.containerId}/${a.ifname}`;

/** One reserved address and who holds it. */
export interface Reservation {
  readonly ip: IP;
  readonly owner: Attachment;
  /** ISO 8601 time of the reservation. */
  readonly since: string;
  /** The pod the runtime named when the address was reserved, if it named one. */
  readonly pod?: PodIdentity;
}
