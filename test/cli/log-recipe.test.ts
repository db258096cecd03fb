/**
 * The README's recipe "Why did pod X not get an address?", run as a new user would run it:
 * the command is taken from README.md (between the recipe markers), run against a node
 * where that pod was refused for lack of space, and its output compared with what the
 * README shows (the time and the container ID aside). If the README or the command's
 * output change apart from each other, this fails.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeLocalConf, ROOT, runPlugin, tempDataDir } from '../helpers/run-plugin';
import { cli } from './cli';

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function recipe(): { command: string[]; shown: string[] } {
  const block = /<!-- recipe: why-no-address[^>]*-->\s*```console\n([\s\S]*?)```\s*<!-- \/recipe -->/.exec(README);
  if (!block) throw new Error('README.md has no why-no-address recipe block');
  const [first, ...shown] = block[1]!.trimEnd().split('\n');
  const command = first!.replace(/^\$ /, '').split(/\s+/);
  return { command, shown };
}

/** Cells of a table line, with the ones that differ per run (TIME, CONTAINER) blanked. */
const cells = (line: string) => line.split(/\s{2,}/).map((c, i) => (i === 0 && c !== 'TIME') || (i === 4 && c !== 'CONTAINER') ? '*' : c);

test('README: "why did pod X not get an address" is answered by its one command', async () => {
  const { command, shown } = recipe();
  expect(command.slice(0, 2)).toEqual(['pod-ipam', 'log']);
  const { dir, cleanup } = tempDataDir('pod-ipam-recipe-');
  try {
    // The situation the README describes: network "pods" has one address; web-1 holds it.
    const conf = nodeLocalConf(dir, { name: 'pods' }, { ranges: [[{ subnet: '10.1.2.0/30' }]] });
    const pod = (name: string) => `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name};K8S_POD_UID=uid-${name}`;
    expect((await runPlugin({ command: 'ADD', containerId: '8c2f61d04b7e93a15f0e2d6c4a9b8e71', cniArgs: pod('web-1'), stdin: conf })).code).toBe(0);
    const refused = await runPlugin({ command: 'ADD', containerId: '5f1c0a2b9e3d47a8b6c5d4e3f2a1b0c9', cniArgs: pod('web-2'), stdin: conf });
    expect(refused.json.code).toBe(100);
    // The README's command; --data-dir only because this node's data directory is a temporary one.
    const out = await cli([...command.slice(1), '--data-dir', dir]);
    expect(out.code).toBe(0);
    const lines = out.out.trimEnd().split('\n');
    expect(lines.map(cells)).toEqual(shown.map(cells));
    expect(out.out).toContain('error 100: no free address left in 10.1.2.0/30');
  } finally {
    cleanup();
  }
});
