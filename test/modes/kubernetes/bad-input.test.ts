/**
 * Whatever a kubeconfig, a Node or an annotation holds, the outcome is a value or a
 * PodIpamError (which the CNI layer turns into an error code), never a TypeError or
 * another crash that would end as "internal error".
 */
import fc from 'fast-check';
import { ConfigError, PodIpamError } from '../../../src/core/errors';
import { parseExecConfig, readExecCredential } from '../../../src/modes/kubernetes/exec-credential';
import { parseKubeconfigText } from '../../../src/modes/kubernetes/kubeconfig-parse';
import { podCidrsOf } from '../../../src/modes/kubernetes/node-cidrs';
import { parseAddressAnnotation } from '../../../src/modes/kubernetes/pod-annotation';

const onlyDomainErrors = (fn: () => unknown): void => {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof PodIpamError)) throw e;
  }
};

/** Lines built from kubeconfig-ish tokens reach far more of the parser than random text. */
const yamlish = fc
  .array(
    fc.tuple(
      fc.constantFrom('', ' ', '  ', '    ', '\t'),
      fc.constantFrom('- ', '', '-', '? ', '& '),
      fc.constantFrom('name', 'cluster', '"q: k"', "'s'", '{', '[1]', '|', '#c', 'a b'),
      fc.constantFrom(':', ': ', ': x', ': "v', ": 'v'", ': {}', ': []', ': {"a":1}', ': *a', ': ~', ''),
    ),
    { maxLength: 12 },
  )
  .map((lines) => lines.map((parts) => parts.join('')).join('\n'));

test('the kubeconfig reader: a value or a ConfigError, and nothing printed', () => {
  // A process warning would land on the plugin's stderr, which runtimes log.
  const warn = jest.spyOn(process, 'emitWarning');
  fc.assert(fc.property(fc.oneof(yamlish, fc.string()), (text) => onlyDomainErrors(() => parseKubeconfigText(text, 'k'))), { numRuns: 3000 });
  expect(warn).not.toHaveBeenCalled();
  warn.mockRestore();
});

test('a Node object of any shape: CIDRs or a PodIpamError', () => {
  const spec = fc.record({ podCIDR: fc.anything(), podCIDRs: fc.oneof(fc.anything(), fc.array(fc.oneof(fc.string(), fc.constantFrom('10.0.0.0/24', '10.1.0.0/24', 'fd00::/64', '10.0.0.1/24'), fc.constant({ toString: 0 })))) }, { requiredKeys: [] });
  fc.assert(fc.property(fc.record({ kind: fc.oneof(fc.constant('Node'), fc.anything()), spec: fc.oneof(spec, fc.anything()) }, { requiredKeys: [] }), (node) => onlyDomainErrors(() => podCidrsOf(node as Record<string, unknown>, 'n'))), { numRuns: 2000 });
});

test('an annotation of any value: addresses or a PodIpamError', () => {
  fc.assert(fc.property(fc.oneof(fc.anything(), fc.string(), fc.constantFrom('10.0.0.1,fd00::1', ',', '10.0.0.1,', ' fd00::1 ')), (value) => onlyDomainErrors(() => parseAddressAnnotation(value, 'pod a/b'))), { numRuns: 2000 });
});

test('an exec entry or a plugin answer of any shape: a value or a ConfigError', () => {
  const bad = (m: string): ConfigError => new ConfigError('k', m);
  const exec = fc.record({ apiVersion: fc.oneof(fc.constantFrom('client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'), fc.anything()), command: fc.anything(), args: fc.anything(), env: fc.anything(), interactiveMode: fc.anything(), installHint: fc.anything() }, { requiredKeys: [] });
  fc.assert(fc.property(fc.oneof(exec, fc.anything()), (raw) => onlyDomainErrors(() => parseExecConfig(raw as never, '/k', bad, 'user "u"'))), { numRuns: 2000 });
  const status = fc.record({ token: fc.anything(), clientCertificateData: fc.anything(), clientKeyData: fc.anything(), expirationTimestamp: fc.oneof(fc.anything(), fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString()))) }, { requiredKeys: [] });
  const answer = fc.record({ kind: fc.constantFrom('ExecCredential', 'Other'), apiVersion: fc.constantFrom('client.authentication.k8s.io/v1', 'x'), status: fc.oneof(status, fc.anything()) }, { requiredKeys: [] });
  fc.assert(fc.property(fc.oneof(answer.map((a) => JSON.stringify(a)), fc.string()), (text) => onlyDomainErrors(() => readExecCredential(text, 'client.authentication.k8s.io/v1', bad))), { numRuns: 2000 });
});
