import { ConfigError } from '../../../src/core/errors';
import { parseKubeconfigYaml } from '../../../src/modes/kubernetes/kubeconfig-yaml';

/** What `kubectl config view --raw` writes: sequences at the key's own column. */
const KUBECTL_STYLE = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTg==
    server: https://10.0.0.1:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: "pod-ipam"   # trailing comment
  name: pod-ipam@kubernetes
current-context: pod-ipam@kubernetes
kind: Config
preferences: {}
users:
- name: pod-ipam
  user:
    token: 'abc''def#not-a-comment'
`;

describe('parseKubeconfigYaml', () => {
  test('reads kubectl-style output', () => {
    expect(parseKubeconfigYaml(KUBECTL_STYLE, 'k')).toEqual({
      apiVersion: 'v1',
      clusters: [{ cluster: { 'certificate-authority-data': 'LS0tLS1CRUdJTg==', server: 'https://10.0.0.1:6443' }, name: 'kubernetes' }],
      contexts: [{ context: { cluster: 'kubernetes', user: 'pod-ipam' }, name: 'pod-ipam@kubernetes' }],
      'current-context': 'pod-ipam@kubernetes',
      kind: 'Config',
      preferences: {},
      users: [{ name: 'pod-ipam', user: { token: "abc'def#not-a-comment" } }],
    });
  });

  test.each([
    ['indented sequences', 'a:\n  - x: 1\n    y: "two"\n  - z: 3\n', { a: [{ x: '1', y: 'two' }, { z: '3' }] }],
    ['a "-" on its own line', 'a:\n-\n  name: n\n', { a: [{ name: 'n' }] }],
    ['scalar sequence items', 'a:\n- one\n- "two"\n', { a: ['one', 'two'] }],
    ['booleans and null', 'a: true\nb: false\nc: ~\nd:\n', { a: true, b: false, c: null, d: null }],
    ['digits stay strings (tokens may be all digits)', 'token: 0123\n', { token: '0123' }],
    ['double-quoted escapes', 'a: "x\\ty\\u0041\\"z"\n', { a: 'x\tyA"z' }],
    ['document markers and CRLF', '---\r\na: b\r\n...\r\n', { a: 'b' }],
    ['a JSON document', '{"current-context": "c", "clusters": []}', { 'current-context': 'c', clusters: [] }],
    ['JSON-shaped flow values', 'a: {"k": "v"}\nb: []\n', { a: { k: 'v' }, b: [] }],
    ['a colon inside a value', 'server: https://[fd00::1]:6443\n', { server: 'https://[fd00::1]:6443' }],
    ['an empty document', '# nothing\n', null],
  ])('reads %s', (_name, source, expected) => {
    expect(parseKubeconfigYaml(source, 'k')).toEqual(expected);
  });

  test.each([
    ['block scalars', 'a: |\n  x\n', /line 1: block scalars/],
    ['anchors', 'a: &x b\n', /line 1: .*anchors/],
    ['tab indentation', 'a:\n\tb: c\n', /line 2: tabs/],
    ['bad indentation', 'a: b\n    c: d\n', /line 2: unexpected indentation/],
    ['multi-line plain scalars', 'a: b\n  c\n', /line 2: multi-line plain scalars/],
    ['duplicate keys', 'a: b\na: c\n', /line 2: duplicate key "a"/],
    ['a line with no key', 'a: b\njust text\n', /line 2: expected "key: value"/],
    ['an unterminated string', 'a: "b\n', /line 1: unterminated/],
    ['broken JSON', '{"a": ', /is not valid JSON/],
    ['a __proto__ key', 'a:\n  __proto__: {"server": "x"}\n', /line 2: the key "__proto__" is not allowed/],
  ])('refuses %s with a ConfigError naming the line', (_name, source, message) => {
    let error: unknown;
    try {
      parseKubeconfigYaml(source, 'ipam.kubeconfig (/x)');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^ipam\.kubeconfig \(\/x\): /);
    expect((error as Error).message).toMatch(message);
  });
});
