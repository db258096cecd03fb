/**
 * Reads a kubeconfig's text with the `yaml` library, the way client-go reads it: the
 * first document of the stream, YAML 1.1 (client-go's parser is go-yaml v2, so `yes`
 * and `on` are booleans), and scalars that look like numbers kept as the text written
 * (client-go decodes into string fields, so a token `0123` stays "0123").
 *
 * This module (and with it the library) is imported only by connection.ts, which the
 * kubernetes mode loads lazily on the cold path: an ADD with a warm podCIDR cache never
 * evaluates any of it (test/e2e/hot-path.test.ts).
 */
import { isScalar, LineCounter, parseAllDocuments, visit } from 'yaml';
import { ConfigError } from '../../core/errors';

export type KubeValue = string | boolean | null | KubeValue[] | { [key: string]: KubeValue };

/** Anchors and aliases are legal YAML; this bounds what a hostile file can expand to. */
const MAX_ALIAS_COUNT = 100;

/** @throws ConfigError(where) naming the line of the first syntax error. */
export function parseKubeconfigText(source: string, where: string): KubeValue {
  let docs: ReturnType<typeof parseAllDocuments>;
  const lines = new LineCounter();
  try {
    docs = parseAllDocuments(source, { schema: 'yaml-1.1', merge: true, uniqueKeys: true, prettyErrors: true, lineCounter: lines });
  } catch (e) {
    throw new ConfigError(where, `is not valid YAML: ${(e as Error).message}`);
  }
  if (!Array.isArray(docs) || docs.length === 0) return null;
  // client-go decodes the first document and ignores the rest.
  const doc = docs[0]!;
  const error = doc.errors[0];
  if (error) {
    const line = error.linePos?.[0].line;
    const first = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(where, `is not valid YAML${line ? ` at line ${line}` : ''}: ${first}`);
  }
  let complexKeyAt: number | undefined;
  visit(doc, {
    // A mapping or alias as a key has no JSON form (the library would warn on stderr and stringify it).
    Pair(_key, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        complexKeyAt = (pair.key as { range?: [number, number, number] }).range?.[0] ?? 0;
        return visit.BREAK;
      }
      return undefined;
    },
    Scalar(_key, node) {
      // Numbers and timestamps go back to the text written; strings, booleans and null stay.
      const v: unknown = node.value;
      if (isScalar(node) && v !== null && typeof v !== 'string' && typeof v !== 'boolean') node.value = node.source ?? String(v);
    },
  });
  if (complexKeyAt !== undefined) throw new ConfigError(where, `is not valid YAML at line ${lines.linePos(complexKeyAt).line}: a mapping key must be a plain value, not a collection or alias`);
  try {
    return toKubeValue(doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown);
  } catch (e) {
    throw new ConfigError(where, `cannot be read: ${(e as Error).message}`);
  }
}

/** Narrows what toJS gives (Dates for timestamps in 1.1, Maps for complex keys) to plain data. */
function toKubeValue(v: unknown): KubeValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(toKubeValue);
  if (v instanceof Map || v instanceof Set) throw new Error('complex mapping keys are not valid in a kubeconfig');
  if (typeof v === 'object') {
    const out: { [key: string]: KubeValue } = {};
    for (const [key, value] of Object.entries(v as object)) {
      // defineProperty: a "__proto__" key is data, never the object's prototype.
      Object.defineProperty(out, key, { value: toKubeValue(value), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return String(v);
}
