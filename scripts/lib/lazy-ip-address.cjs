// Build-time change to ip-address (the project's address library), applied by the bundle
// only: ip-address builds its lookup tables of special-purpose networks (about 60 Address4
// and 30 Address6 objects: multicast, private, documentation, the IANA registries) when
// the module is loaded. Measured in a Bun-compiled program on the 2-core machine, that
// load-time work is ~13 ms of CPU and ~6 MiB, every call, for tables pod-ipam never reads
// on its hot path (isPrivate(), getType(), isGlobal()... use them); the library's code
// itself loads in ~1 ms. Here those tables are built on first use instead: the trailing
// `const NAME = ...;` declarations after `exports.AddressN = AddressN;` move into one
// function that builds them all once, and the class's reads of NAME become reads of that
// function's result. Nothing else changes.
//
// The change is checked, not trusted: it throws (failing the build) if the file no longer
// has the shape it expects, and test/build/lazy-ip-address.test.ts compares every
// argument-less method of the changed classes with the original over a corpus of
// addresses. If an upgrade of ip-address breaks either, drop the change or adapt it.
'use strict';
const { readFileSync } = require('node:fs');

/** Files of ip-address whose load-time tables are deferred, and the class each exports. */
const DEFERRED = [
  { file: 'ipv4.js', className: 'Address4' },
  { file: 'ipv6.js', className: 'Address6' },
];

const fileFilter = /[\\/]ip-address[\\/]dist[\\/](ipv4|ipv6)\.js$/;

/**
 * Returns `source` (ipv4.js or ipv6.js of ip-address) with its trailing load-time
 * constants built on first use.
 */
function deferLoadTimeTables(source, className) {
  const marker = `\nexports.${className} = ${className};\n`;
  const at = source.indexOf(marker);
  if (at < 0 || source.indexOf(marker, at + 1) >= 0) {
    throw new Error(`lazy-ip-address: "${marker.trim()}" not found once; ip-address changed shape`);
  }
  const head = source.slice(0, at + marker.length);
  const tail = source.slice(at + marker.length).replace(/\n\/\/# sourceMappingURL=.*$/, '\n');
  const names = [...tail.matchAll(/^const ([A-Za-z_$][\w$]*) = /gm)].map((m) => m[1]);
  // Everything in the tail must be one of those declarations (they may span lines); any
  // other top-level statement would change meaning when moved into a function.
  const topLevel = tail.split('\n').filter((line) => line !== '' && !/^\s/.test(line) && !/^[\])}]/.test(line));
  const stray = topLevel.filter((line) => !/^const [A-Za-z_$][\w$]* = /.test(line) && !line.startsWith('//'));
  if (names.length === 0 || stray.length > 0) {
    throw new Error(`lazy-ip-address: unexpected statements after ${className}: ${JSON.stringify(stray.slice(0, 3))}`);
  }
  let body = head;
  for (const name of names) {
    const uses = new RegExp(`(?<![\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`, 'g');
    if (!uses.test(body)) throw new Error(`lazy-ip-address: ${name} is never read by ${className}`);
    body = body.replace(uses, `__lazyTables().${name}`);
  }
  return (
    `${body}let __lazyTablesBuilt;\n` +
    `function __lazyTables() {\n` +
    `if (__lazyTablesBuilt === undefined) {\n${tail}__lazyTablesBuilt = { ${names.join(', ')} };\n}\n` +
    `return __lazyTablesBuilt;\n}\n`
  );
}

/** Whether esbuild's `path` is one of the files deferLoadTimeTables changes; its class. */
function deferredClassOf(path) {
  const m = fileFilter.exec(path);
  return m ? DEFERRED.find((d) => d.file === `${m[1]}.js`).className : undefined;
}

/**
 * Reads a module for esbuild, deferring ip-address's tables when it is one of its files.
 * `prefix` is prepended (the build's --instrument-loads).
 */
function loadWithDeferredTables(path, prefix = '') {
  const source = readFileSync(path, 'utf8');
  const className = deferredClassOf(path);
  return prefix + (className ? deferLoadTimeTables(source, className) : source);
}

/** esbuild plugin: ip-address's two address modules with their tables deferred. */
const lazyIpAddressTables = {
  name: 'lazy-ip-address-tables',
  setup(b) {
    b.onLoad({ filter: fileFilter }, (a) => ({ contents: loadWithDeferredTables(a.path), loader: 'js' }));
  },
};

module.exports = { DEFERRED, deferLoadTimeTables, deferredClassOf, loadWithDeferredTables, lazyIpAddressTables };
