/**
 * The directories that hold state must be pod-ipam's own, as sshd's StrictModes demands of
 * ~/.ssh: owned by the user pod-ipam runs as and writable by nobody else. Otherwise a local
 * user could swap `ips/` for a symlink between a check and a write and have root create
 * or remove files elsewhere. Directories pod-ipam creates get mode 0700 whatever the umask.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IoError } from '../core/errors';
import { errno, writeError } from './durable-file';

/**
 * Creates `dir` (and missing parents) with mode 0700, then checks it is ours.
 * @throws StoreWriteError when it cannot be created; IoError when it is not ours
 */
export function ensureOwnedDir(dir: string): void {
  let firstCreated: string | undefined;
  try {
    firstCreated = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is masked by the umask; the mode we promise is set explicitly.
    for (let d = dir; firstCreated !== undefined; d = path.dirname(d)) {
      fs.chmodSync(d, 0o700);
      if (d === firstCreated || d === path.dirname(d)) break;
    }
  } catch (e) {
    throw writeError(`cannot create the state directory ${dir}`, e);
  }
  checkOwned(dir, fs.lstatSync(dir));
}

/**
 * Whether `dir` exists, for readers that must not create anything (CHECK, DEL of an
 * unknown network, STATUS).
 * @throws IoError when it exists but is not ours
 */
export function ownedDirExists(dir: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return false;
    throw new IoError(`cannot inspect the state directory ${dir}: ${(e as Error).message}`);
  }
  checkOwned(dir, st);
  return true;
}

function checkOwned(dir: string, st: fs.Stats): void {
  if (!st.isDirectory()) throw new IoError(`${dir} is not a directory (a symlink or a file stands in its place)`, 'remove it, or set ipam.dataDir to a directory of its own');
  const uid = process.geteuid?.() ?? st.uid;
  if (st.uid !== uid) {
    throw new IoError(`${dir} is owned by uid ${st.uid}, not by uid ${uid} that pod-ipam runs as`, `chown ${uid} ${dir}, or set ipam.dataDir to a directory of its own`);
  }
  if ((st.mode & 0o022) !== 0) {
    throw new IoError(`${dir} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}); another user could redirect pod-ipam's writes`, `chmod go-w ${dir}`);
  }
}
