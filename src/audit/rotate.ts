/**
 * Size-bounded rotation: file -> file.1 -> ... -> file.N, the oldest dropped. Called only
 * under the log lock (src/audit/log-lock.ts), so two writers never shift at once. Every
 * step is a rename: a writer that opened the file just before it was renamed appends to
 * the renamed file, so no line is ever lost by rotating.
 */
import * as fs from 'node:fs';

export const rotatedName = (file: string, n: number): string => `${file}.${n}`;

export function rotate(file: string, maxFiles: number): void {
  for (let n = maxFiles - 1; n >= 1; n--) {
    try {
      fs.renameSync(rotatedName(file, n), rotatedName(file, n + 1));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  fs.renameSync(file, rotatedName(file, 1));
}

/** Every file of the log, oldest first: file.N ... file.1, file (those that exist). */
export function logFiles(file: string, maxFiles = 20): string[] {
  const files: string[] = [];
  for (let n = maxFiles; n >= 1; n--) if (fs.existsSync(rotatedName(file, n))) files.push(rotatedName(file, n));
  if (fs.existsSync(file)) files.push(file);
  return files;
}
