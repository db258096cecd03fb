/** Small typed readers for config objects; each failure names the JSON path of the field. */
import { ConfigError } from '../core/errors';

/** JSON path of `key` inside `path` ('' is the document root). */
export const at = (path: string, key: string): string => (path ? `${path}.${key}` : key);

export type JsonObject = Readonly<Record<string, unknown>>;

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function optionalObject(obj: JsonObject, key: string, path: string): JsonObject | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new ConfigError(at(path, key), 'must be an object');
  return v;
}

export function optionalString(obj: JsonObject, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ConfigError(at(path, key), `must be a string, not ${JSON.stringify(v)}`);
  return v;
}

export function optionalArray(obj: JsonObject, key: string, path: string): readonly unknown[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new ConfigError(at(path, key), 'must be a list');
  return v;
}

export function optionalNumber(obj: JsonObject, key: string, path: string, min: number, max: number): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(at(path, key), `must be a number from ${min} to ${max}, not ${JSON.stringify(v)}`);
  }
  return v;
}
