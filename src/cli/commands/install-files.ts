/**
 * Writing into the host's directories the way a runtime can never catch half-done: a
 * temp name in the same directory, written, fsynced, given its mode, renamed over the
 * target, and the directory fsynced. A runtime reading /etc/cni/net.d or running
 * /opt/cni/bin/pod-ipam at any moment sees the old file or the new one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError } from './common';

/** A file the installer keeps in place on the host. */
export interface DesiredFile {
  /** Where the installer writes it (under --host-root). */
  readonly path: string;
  readonly content: Buffer;
  readonly mode: number;
}

const tmpName = (file: string): string => path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`);

/** Writes `content` to a temp file next to `file` (fsynced, with `mode`); the caller renames or removes it. */
export function writeTemp(file: string, content: Buffer, mode: number): string {
  const dir = path.dirname(file);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new CliError(`cannot create ${dir}: ${(e as Error).message}`);
  }
  const tmp = tmpName(file);
  try {
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      fs.writeFileSync(fd, content);
      fs.fchmodSync(fd, mode);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new CliError(`cannot write ${file}: ${(e as Error).message}`);
  }
  return tmp;
}

/** Renames a temp file from writeTemp over `file` and makes the rename durable. */
export function commitTemp(tmp: string, file: string): void {
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new CliError(`cannot replace ${file}: ${(e as Error).message}`);
  }
  const fd = fs.openSync(path.dirname(file), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function writeAtomic(file: string, content: Buffer, mode: number): void {
  commitTemp(writeTemp(file, content, mode), file);
}

/**
 * Writes each file whose content or mode on disk differs from the desired one (a missing
 * file included); returns the paths written. Unchanged files are not touched, so a
 * watching installer rewrites only what kubelet rotated or someone removed.
 */
export function syncFiles(files: readonly DesiredFile[]): string[] {
  const written: string[] = [];
  for (const f of files) {
    if (sameAsOnDisk(f)) continue;
    writeAtomic(f.path, f.content, f.mode);
    written.push(f.path);
  }
  return written;
}

function sameAsOnDisk(f: DesiredFile): boolean {
  try {
    const st = fs.lstatSync(f.path);
    return st.isFile() && (st.mode & 0o777) === f.mode && st.size === f.content.length && fs.readFileSync(f.path).equals(f.content);
  } catch {
    return false;
  }
}
