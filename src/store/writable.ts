/**
 * Whether the state store could take a write now, found without writing (STATUS runs
 * periodically and must change nothing): the nearest existing directory of the network's
 * path is writable (access(2) reports a read-only mount even to root) and its file
 * system has a free block and a free inode.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StoreWriteError } from '../core/errors';
import { errno, writeError } from './durable-file';

/** @throws StoreWriteError naming the reason */
export function checkWritable(dir: string): void {
  const existing = nearestExisting(dir);
  try {
    fs.accessSync(existing, fs.constants.W_OK);
  } catch (e) {
    throw writeError(`the state directory ${existing} is not writable`, e);
  }
  const fsInfo = fs.statfsSync(existing);
  if (fsInfo.bfree === 0 || fsInfo.ffree === 0) {
    throw new StoreWriteError(`the file system of ${existing} is full (${fsInfo.bfree === 0 ? 'no free block' : 'no free inode'}): free space on it`);
  }
}

function nearestExisting(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      fs.statSync(d);
      return d;
    } catch (e) {
      if (errno(e) !== 'ENOENT' || d === path.dirname(d)) return d;
    }
  }
}
