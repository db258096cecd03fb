/** DNS settings for the result, read from a resolv.conf-format file (host-local's `resolvConf`). */
import * as fs from 'node:fs';
import { ConfigError } from '../core/errors';

export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A resolv.conf is a few hundred bytes; anything larger is not one. */
const MAX_BYTES = 64 * 1024;

/**
 * @throws ConfigError (ipam.resolvConf) when the file cannot be read, or is not a regular
 *   file: a FIFO would block the call forever and /dev/zero would never end.
 */
export function readResolvConf(file: string): Dns {
  let text: string;
  let fd: number | undefined;
  try {
    // O_NONBLOCK: opening a FIFO without a writer must not block; fstat then refuses it.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`);
    text = fs.readFileSync(fd, 'utf8');
  } catch (e) {
    throw new ConfigError('ipam.resolvConf', `cannot read ${file}: ${(e as Error).message}`, 'point it at a resolv.conf-format regular file');
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  const dns: Dns = {};
  for (const line of text.split('\n')) {
    const [key, ...values] = line.replace(/[#;].*/, '').trim().split(/\s+/);
    if (key === 'nameserver' && values[0]) (dns.nameservers ??= []).push(values[0]);
    else if (key === 'domain' && values[0]) dns.domain = values[0];
    else if (key === 'search') dns.search = values;
    else if (key === 'options') (dns.options ??= []).push(...values);
  }
  return dns;
}
