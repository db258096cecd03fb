/**
 * Crash-safe file primitives. Every state change is: write a temp file in the same
 * directory, fsync it, rename (or link, to claim a name exclusively) it into place,
 * fsync the directory. A kill -9 at any instant therefore leaves either the old file or
 * the new one, never a torn or empty one. Reads and writes refuse symlinks, so a link
 * planted in place of state cannot redirect pod-ipam outside its data directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IoError, StoreWriteError } from '../core/errors';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = fs.constants;

/** Reads a file without following a symlink; undefined when it does not exist. */
export function readFileNoFollow(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW);
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    if (errno(e) === 'ELOOP') throw new IoError(`${file} is a symlink; pod-ipam refuses to follow links in its state directory`);
    throw new IoError(`cannot read ${file}: ${message(e)}`);
  }
  try {
    return fs.readFileSync(fd, 'utf8');
  } catch (e) {
    throw new IoError(`cannot read ${file}: ${message(e)}`);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes `content` to `file` atomically and durably (temp, fsync, rename, directory fsync).
 * With `exclusive`, fails with EEXIST-semantics (returns false) when the file already
 * exists: the name is claimed with link(), which never replaces an existing file.
 * `syncFile: false` and `syncDir: false` skip the fsyncs, for hints only: the rename is
 * still atomic against kill -9, but a power loss may leave the old, an empty or no file.
 * @throws StoreWriteError when the disk is full, read-only or not writable.
 */
export function writeFileDurable(file: string, content: string, options: { exclusive?: boolean; syncDir?: boolean; syncFile?: boolean } = {}): boolean {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.tmp-${path.basename(file)}-${tmpSuffix()}`);
  try {
    const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      fs.writeFileSync(fd, content);
      if (options.syncFile !== false) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (options.exclusive) {
      try {
        fs.linkSync(tmp, file);
      } catch (e) {
        if (errno(e) === 'EEXIST') return false;
        throw e;
      } finally {
        removeQuietly(tmp);
      }
    } else {
      fs.renameSync(tmp, file);
    }
  } catch (e) {
    removeQuietly(tmp);
    throw writeError(`cannot write ${file}`, e);
  }
  if (options.syncDir !== false) syncDir(dir);
  return true;
}

/** Best-effort removal of a temp file: the error that made it necessary is the one to report. */
function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // ENOENT (never created), or EROFS on a read-only mount even when it does not exist
  }
}

/** Removes a file; false when it did not exist. Call syncDir afterwards to make it durable. */
export function removeFile(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw writeError(`cannot remove ${file}`, e);
  }
}

/** fsyncs a directory so that renames, links and unlinks in it survive a power loss. */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, O_RDONLY | O_DIRECTORY);
    fs.fsyncSync(fd);
  } catch (e) {
    throw writeError(`cannot sync ${dir}`, e);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * A temp-name suffix unique enough among concurrent writers (pid + 48 random bits). It need
 * not be unpredictable: the temp file is created with O_EXCL | O_NOFOLLOW in a 0700
 * directory. Not node:crypto on purpose: loading it costs ~10 ms of start-up under Bun.
 */
const tmpSuffix = (): string => `${process.pid.toString(36)}-${Math.floor(Math.random() * 2 ** 48).toString(36)}`;

/**
 * Whether `name` is a temp file (see tmpSuffix) whose writer is gone, so that a sweep never
 * removes the temp file of a call still in flight. A recycled pid only delays the removal.
 */
export function isTempOfDeadProcess(name: string): boolean {
  if (!name.startsWith('.tmp-')) return false;
  const parts = name.split('-');
  const pid = Number.parseInt(parts[parts.length - 2] ?? '', 36);
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return errno(e) !== 'EPERM'; // EPERM: alive, another user's
  }
}

export const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The store-write error (CNI code 104) for a failed write, with a hint for the usual causes. */
export function writeError(what: string, e: unknown): StoreWriteError {
  const code = errno(e);
  const hint =
    code === 'ENOSPC' ? 'the disk is full; free space on it'
    : code === 'EROFS' ? 'the file system is read-only'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied; pod-ipam must run as root or own its data directory'
    : 'check the data directory';
  return new StoreWriteError(`${what}: ${hint}`, message(e));
}
