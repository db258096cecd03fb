/** The kubeconfig text as client-go reads it, through the `yaml` library. */
import { ConfigError } from '../../../src/core/errors';
import { parseKubeconfigText } from '../../../src/modes/kubernetes/kubeconfig-parse';

test.each([
  ['a flow-style context', 'context: {cluster: acc, user: acc}\n', { context: { cluster: 'acc', user: 'acc' } }],
  ['a comment after a plain scalar', "name: it's # comment\n", { name: "it's" }],
  ['double-quoted escapes', 'a: "x\\ty\\u0041\\x42\\"z"\n', { a: 'x\tyAB"z' }],
  ['single-quoted quotes and #', "token: 'abc''def#not-a-comment'\n", { token: "abc'def#not-a-comment" }],
  ['the first of several documents', 'a: first\n---\na: second\n', { a: 'first' }],
  ['a leading document marker', '---\na: b\n', { a: 'b' }],
  ['number-like values as written (client-go decodes into strings)', 'token: 0123\nport: 6443\nv: 1e3\n', { token: '0123', port: '6443', v: '1e3' }],
  ['a date-like value as written', 'last-update: 2026-12-01\n', { 'last-update': '2026-12-01' }],
  ['YAML 1.1 booleans (go-yaml v2)', 'a: yes\nb: off\nc: true\n', { a: true, b: false, c: true }],
  ['null and empty values', 'a: ~\nb:\nc: null\n', { a: null, b: null, c: null }],
  ['a folded multi-line plain scalar', 'hint: Install it\n  by following\n  https://x/y#z\n', { hint: 'Install it by following https://x/y#z' }],
  ['block scalars', 'a: |\n  one\n  two\nb: >\n  three\n  four\n', { a: 'one\ntwo\n', b: 'three four\n' }],
  ['anchors and aliases', 'a: &c {server: s}\nb: *c\n', { a: { server: 's' }, b: { server: 's' } }],
  ['a JSON document', '{"current-context": "c", "clusters": []}', { 'current-context': 'c', clusters: [] }],
  ['CRLF line ends', 'a: b\r\nc: d\r\n', { a: 'b', c: 'd' }],
  ['an empty file', '# nothing\n', null],
])('reads %s', (_name, source, expected) => {
  expect(parseKubeconfigText(source, 'k')).toEqual(expected);
});

test('a "__proto__" key is plain data, never a prototype', () => {
  const v = parseKubeconfigText('a:\n  __proto__: {server: evil}\n', 'k') as Record<string, Record<string, unknown>>;
  expect(Object.getPrototypeOf(v['a'])).toBe(Object.prototype);
  expect(Object.keys(v['a']!)).toEqual(['__proto__']);
  expect((v['a'] as { server?: unknown }).server).toBeUndefined();
});

test.each([
  ['bad indentation', 'a: b\n    c: d\n', /line 1/],
  ['an unterminated string', 'a: "b\n', /line \d+: Missing closing/],
  ['duplicate keys', 'a: b\na: c\n', /line 2: Map keys must be unique/],
  ['tab indentation', 'a:\n\tb: c\n', /line 2/],
  ['broken JSON', '{"a": ', /line 1/],
  ['a collection as a key', '? {a: b}\n: c\n', /line 1: a mapping key must be a plain value/],
  ['an alias as a key', 'x: &k {a: b}\n*k : c\n', /line 2: a mapping key must be a plain value/],
  ['an alias bomb', `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`, /cannot be read: .*alias/i],
])('refuses %s with a ConfigError naming the place', (_name, source, message) => {
  let error: unknown;
  try {
    parseKubeconfigText(source, 'ipam.kubeconfig (/x)');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toMatch(/^ipam\.kubeconfig \(\/x\): /);
  expect((error as Error).message).toMatch(message);
});
