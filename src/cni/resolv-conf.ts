/** DNS settings for the result, read from a resolv.conf-format file (host-local's `resolvConf`). */
import * as fs from 'node:fs';
import { ConfigError } from '../core/errors';

export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** @throws ConfigError (ipam.resolvConf) when the file cannot be read. */
export function readResolvConf(file: string): Dns {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('ipam.resolvConf', `cannot read ${file}: ${(e as Error).message}`);
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
