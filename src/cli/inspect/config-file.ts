/**
 * Reads a network config file as an operator hands it over: a `.conflist`, a `.conf` or a
 * bare `ipam` object. Each pod-ipam entry comes back as the config the plugin would get on
 * stdin (a runtime copies the list's name and cniVersion into each plugin's config), with
 * the JSON path prefix of its place in the file.
 */
import * as fs from 'node:fs';
import { isObject } from '../../cni/json-fields';
import type { JsonObject } from '../../cni/json-fields';
import { CliError } from '../commands/common';

export type ConfigKind = 'conflist' | 'conf' | 'ipam';

export interface ConfigEntry {
  /** Prefix of paths inside this entry: "plugins[0]." in a conflist, "" in a conf. */
  readonly prefix: string;
  /** The config as the plugin receives it on stdin. */
  readonly conf: JsonObject;
}

export interface ConfigFile {
  readonly kind: ConfigKind;
  readonly doc: JsonObject;
  readonly entries: readonly ConfigEntry[];
}

export const POD_IPAM_TYPE = 'pod-ipam';

/** Name given to a bare ipam object, which has no network of its own. */
export const BARE_IPAM_NETWORK = 'validate';

/** @throws CliError when the file cannot be read or is not a JSON object. */
export function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${file} is not valid JSON`, (e as Error).message);
  }
  if (!isObject(doc)) throw new CliError(`${file} is not a JSON object (a .conf, a .conflist or an ipam object)`);
  if (doc.plugins !== undefined) {
    const plugins = Array.isArray(doc.plugins) ? doc.plugins : [];
    const entries = plugins.flatMap((p, i): ConfigEntry[] =>
      isObject(p) && isObject(p.ipam) && p.ipam.type === POD_IPAM_TYPE ? [{ prefix: `plugins[${i}].`, conf: { ...p, name: doc.name, cniVersion: doc.cniVersion } }] : [],
    );
    return { kind: 'conflist', doc, entries };
  }
  if (doc.ipam !== undefined) return { kind: 'conf', doc, entries: [{ prefix: '', conf: doc }] };
  return { kind: 'ipam', doc, entries: [{ prefix: '', conf: { cniVersion: '1.1.0', name: BARE_IPAM_NETWORK, ipam: doc } }] };
}
