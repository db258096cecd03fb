/**
 * A YAML reader for the subset kubeconfig files use: block mappings and sequences by
 * indentation, plain / single- / double-quoted scalars, comments, empty flow collections
 * (`{}`, `[]`) and JSON documents. A full YAML library is not worth its weight here (the
 * kubeconfig is read only on the cold path, but every byte of the bundle is parsed on
 * every start); anything outside the subset is refused with the line number rather
 * than guessed at.
 */
import { ConfigError } from '../../core/errors';

export type YamlValue = string | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  readonly no: number;
  readonly indent: number;
  readonly text: string;
}

/** @throws ConfigError(path) naming the line that is malformed or outside the subset. */
export function parseKubeconfigYaml(source: string, path: string): YamlValue {
  const trimmed = source.replace(/^\uFEFF/, '').trim();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed) as YamlValue;
    } catch (e) {
      throw new ConfigError(path, `is not valid JSON: ${(e as Error).message}`);
    }
  }
  return new Reader(toLines(source, path), path).document();
}

function toLines(source: string, path: string): Line[] {
  const lines: Line[] = [];
  source.split(/\r?\n/).forEach((raw, i) => {
    if (raw.includes('\t') && /^\s*\t/.test(raw)) throw new ConfigError(path, `line ${i + 1}: tabs are not allowed for indentation in YAML`);
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '' || text === '---' || text === '...') return;
    if (/^%/.test(text)) throw new ConfigError(path, `line ${i + 1}: YAML directives are not supported in a kubeconfig`);
    const indent = text.length - text.trimStart().length;
    lines.push({ no: i + 1, indent, text: text.trimStart() });
  });
  return lines;
}

/** Removes a `#` comment that starts a line or follows whitespace, outside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
      return line.slice(0, i);
    }
  }
  return line;
}

class Reader {
  #pos = 0;
  constructor(
    private readonly lines: readonly Line[],
    private readonly path: string,
  ) {}

  document(): YamlValue {
    const first = this.lines[0];
    if (!first) return null;
    const value = this.block(first.indent);
    const rest = this.lines[this.#pos];
    if (rest) this.fail(rest, 'unexpected indentation');
    return value;
  }

  /** A mapping or sequence whose entries all start at column `indent`. */
  private block(indent: number): YamlValue {
    const first = this.lines[this.#pos];
    if (!first) return null;
    return isSeqEntry(first.text) ? this.sequence(indent) : this.mapping(indent);
  }

  private sequence(indent: number): YamlValue[] {
    const items: YamlValue[] = [];
    for (let line = this.lines[this.#pos]; line && line.indent === indent && isSeqEntry(line.text); line = this.lines[this.#pos]) {
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.#pos++;
        items.push(this.nested(indent, line));
      } else {
        // "- key: value" opens a mapping whose keys sit at the column after "- ".
        const column = indent + (line.text.length - rest.length);
        this.#pos++;
        if (isSeqEntry(rest) || !looksLikeKey(rest)) {
          if (isSeqEntry(rest)) this.fail(line, 'nested "- -" sequences are not supported');
          items.push(this.scalar(rest, line));
        } else {
          items.push(this.mapping(column, { ...line, indent: column, text: rest }));
        }
      }
    }
    return items;
  }

  private mapping(indent: number, firstLine?: Line): { [key: string]: YamlValue } {
    const map: { [key: string]: YamlValue } = {};
    let line = firstLine ?? this.lines[this.#pos];
    if (!firstLine && line) this.#pos++;
    while (line) {
      const colon = keyEnd(line.text);
      if (colon < 0) this.fail(line, 'expected "key: value"');
      const key = this.key(line.text.slice(0, colon), line);
      if (Object.prototype.hasOwnProperty.call(map, key)) this.fail(line, `duplicate key "${key}"`);
      const rest = line.text.slice(colon + 1).trim();
      map[key] = rest === '' ? this.nested(indent, line, true) : this.scalar(rest, line);
      const next = this.lines[this.#pos];
      if (!next || next.indent < indent) break;
      if (next.indent > indent) this.fail(next, 'unexpected indentation');
      if (isSeqEntry(next.text)) break;
      line = next;
      this.#pos++;
    }
    return map;
  }

  /** The value of "key:" or "-" with nothing after it: a deeper block, or null. */
  private nested(indent: number, owner: Line, allowSameIndentSeq = false): YamlValue {
    const next = this.lines[this.#pos];
    if (!next) return null;
    // kubectl writes "clusters:\n- cluster:" with the dash at the key's own column.
    if (next.indent > indent || (allowSameIndentSeq && next.indent === indent && isSeqEntry(next.text))) {
      return this.block(next.indent);
    }
    void owner;
    return null;
  }

  private key(raw: string, line: Line): string {
    const k = raw.trim();
    if (k.startsWith('"') || k.startsWith("'")) {
      const v = this.scalar(k, line);
      if (typeof v !== 'string') this.fail(line, 'bad key');
      return v;
    }
    if (/^[?&*!|>]/.test(k)) this.fail(line, `YAML feature "${k[0]}" is not supported in a kubeconfig`);
    // Would set the mapping's prototype instead of a key; no kubeconfig field is called that.
    if (k === '__proto__') this.fail(line, 'the key "__proto__" is not allowed');
    return k;
  }

  private scalar(text: string, line: Line): YamlValue {
    const c = text[0];
    if (c === '"') {
      if (!/^"(?:[^"\\]|\\.)*"$/.test(text)) this.fail(line, 'unterminated or multi-line double-quoted string');
      try {
        return JSON.parse(text.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\\//g, '/')) as string;
      } catch {
        return this.fail(line, 'bad escape in double-quoted string');
      }
    }
    if (c === "'") {
      if (!/^'(?:[^']|'')*'$/.test(text)) this.fail(line, 'unterminated or multi-line single-quoted string');
      return text.slice(1, -1).replace(/''/g, "'");
    }
    if (c === '{' || c === '[') {
      try {
        return JSON.parse(text) as YamlValue;
      } catch {
        return this.fail(line, 'flow collections other than JSON-shaped ones ({}, [], {"a": "b"}) are not supported');
      }
    }
    if (c === '|' || c === '>') this.fail(line, 'block scalars (| and >) are not supported in a kubeconfig; put the value on one line');
    if (c === '&' || c === '*' || c === '!') this.fail(line, `YAML anchors, aliases and tags ("${c}") are not supported in a kubeconfig`);
    const next = this.lines[this.#pos];
    if (next && next.indent > line.indent && !isSeqEntry(next.text) && keyEnd(next.text) < 0) {
      this.fail(next, 'multi-line plain scalars are not supported; put the value on one line');
    }
    if (text === 'true' || text === 'True' || text === 'TRUE') return true;
    if (text === 'false' || text === 'False' || text === 'FALSE') return false;
    if (text === 'null' || text === '~' || text === 'Null' || text === 'NULL') return null;
    return text;
  }

  private fail(line: Line, why: string): never {
    throw new ConfigError(this.path, `line ${line.no}: ${why}`);
  }
}

const isSeqEntry = (text: string): boolean => text === '-' || text.startsWith('- ');
const looksLikeKey = (text: string): boolean => keyEnd(text) > 0;

/** Index of the ":" that ends a mapping key (followed by space or end of line), or -1. */
function keyEnd(text: string): number {
  if (text.startsWith('"') || text.startsWith("'")) {
    const quote = text[0];
    let i = 1;
    for (; i < text.length; i++) {
      if (text[i] === '\\' && quote === '"') i++;
      else if (text[i] === quote) {
        if (quote === "'" && text[i + 1] === "'") i++;
        else break;
      }
    }
    const after = text.slice(i + 1).trimStart();
    return after.startsWith(':') && (after.length === 1 || after[1] === ' ') ? text.indexOf(':', i + 1) : -1;
  }
  if (text.startsWith('{') || text.startsWith('[')) return -1;
  const m = /:(?: |$)/.exec(text);
  return m ? m.index : -1;
}
