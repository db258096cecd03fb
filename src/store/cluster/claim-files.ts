/**
 * The file store's claims: one file per block in `<dir>/claims/`, named after the block
 * ("10.0.3.0_24") and holding its owner. Why one file per block and not one shared file:
 * the store's lock is a lease (proper-lockfile; the directory may be on a shared file
 * system), so a holder stalled past the lease can still be writing while another holds
 * it. Every write here is safe even then:
 * - a claim is an exclusive create (temp file, fsync, link), which never replaces a file:
 *   a stalled writer that wakes up cannot erase a claim made meanwhile;
 * - a removal is fenced: the file is first renamed to a unique "<block>~gone-<token>"
 *   name (still read as a claim of that block), then removed only if it names the
 *   remover, else linked back. It can never take away a claim made by someone else.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatCidr } from '../../core/ip';
import { errno, readFileNoFollow, removeFile, syncDir, writeError, writeFileDurable } from '../durable-file';
import { parseBlock } from './block-keys';
import type { BlockOwner } from './cluster-store';

export const claimName = (block: string): string => {
  const cidr = parseBlock(block);
  if (!cidr) throw new RangeError(`not a block: ${block}`);
  return formatCidr(cidr).replace('/', '_');
};

/** The block a claim file names ("10.0.3.0_24" and "10.0.3.0_24~gone-x" both name 10.0.3.0/24). */
export function blockOfName(name: string): string | undefined {
  if (name.startsWith('.')) return undefined;
  const block = name.split('~')[0]!.replace('_', '/');
  return parseBlock(block) ? block : undefined;
}

/**
 * Every claim on disk, removals in progress included (a claim being removed still
 * counts until it is gone). A file removed while reading is skipped.
 */
export function readClaims(claimsDir: string): BlockOwner[] {
  let names: string[];
  try {
    names = fs.readdirSync(claimsDir);
  } catch (e) {
    if (errno(e) === 'ENOENT') return [];
    throw e;
  }
  const seen = new Set<string>();
  const out: BlockOwner[] = [];
  for (const name of names.sort()) {
    const block = blockOfName(name);
    const owner = block ? readFileNoFollow(path.join(claimsDir, name))?.trim() : undefined;
    if (!block || owner === undefined || seen.has(`${block} ${owner}`)) continue;
    seen.add(`${block} ${owner}`);
    out.push({ block, node: owner });
  }
  return out;
}

/** Creates the claim file of `block` for `owner` unless it exists. @returns true when created. */
export function createClaim(claimsDir: string, block: string, owner: string): boolean {
  return writeFileDurable(path.join(claimsDir, claimName(block)), `${owner}\n`, { exclusive: true });
}

/** The owner the claim file of `block` names, undefined when there is none. */
export function claimOwner(claimsDir: string, block: string): string | undefined {
  return readFileNoFollow(path.join(claimsDir, claimName(block)))?.trim();
}

/** Removes the claim of `block` only if it names `owner` (fenced, see above). */
export function removeClaim(claimsDir: string, block: string, owner: string): boolean {
  const file = path.join(claimsDir, claimName(block));
  const gone = `${file}~gone-${process.pid.toString(36)}-${Math.floor(Math.random() * 2 ** 48).toString(36)}`;
  try {
    fs.renameSync(file, gone);
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw writeError(`cannot release ${file}`, e);
  }
  if (readFileNoFollow(gone)?.trim() === owner) {
    removeFile(gone);
    syncDir(claimsDir);
    return true;
  }
  // Someone else's claim (made after we looked): put it back. If the name was taken again
  // meanwhile, the "~gone" file stays and is still read as that owner's claim.
  try {
    fs.linkSync(gone, file);
    removeFile(gone);
  } catch (e) {
    if (errno(e) !== 'EEXIST') throw writeError(`cannot restore ${file}`, e);
  }
  syncDir(claimsDir);
  return false;
}
