/**
 * A compact picture of a pool: one cell per block (or per group of blocks when a pool has
 * more than MAX_CELLS), showing its owner and, for blocks this host serves, its use.
 * The same cells drive the terminal picture and the SVG.
 */
import { formatCidr } from '../../core/ip';
import type { BlockGrid } from '../../modes/cluster-pool/block-grid';
import type { BlockView } from '../inspect/pool-view';

export const MAX_CELLS = 4096;
const ROW = 64;
const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface Cell {
  readonly first: bigint;
  readonly count: bigint;
  readonly label: string;
  /** Owner of the first owned block in the cell; null when all free. */
  readonly node: string | null;
  /** Share used (0..1) when known. */
  readonly use: number | null;
}

export function cellsOf(grid: BlockGrid, blocks: readonly BlockView[]): Cell[] {
  const per = grid.total <= BigInt(MAX_CELLS) ? 1n : (grid.total + BigInt(MAX_CELLS) - 1n) / BigInt(MAX_CELLS);
  const byIndex = new Map<bigint, BlockView>();
  for (const b of blocks) if (b.index !== null && grid.pools.family === (b.block.includes(':') ? 6 : 4)) byIndex.set(b.index, b);
  const owned = [...byIndex.keys()].sort((a, b) => (a < b ? -1 : 1));
  const cells: Cell[] = [];
  for (let first = 0n; first < grid.total; first += per) {
    const last = first + per - 1n < grid.total ? first + per - 1n : grid.total - 1n;
    const inCell = per === 1n ? (byIndex.has(first) ? [byIndex.get(first)!] : []) : owned.filter((i) => i >= first && i <= last).map((i) => byIndex.get(i)!);
    const b = inCell[0];
    const label = per === 1n ? formatCidr(grid.blockAt(first)) : `${formatCidr(grid.blockAt(first))} .. ${formatCidr(grid.blockAt(last))}`;
    cells.push({ first, count: last - first + 1n, label, node: b?.node ?? null, use: b && b.used !== null ? b.used / Number(b.capacity) : null });
  }
  return cells;
}

/** Node → letter, in order of first appearance. */
export function legendOf(blocks: readonly BlockView[]): Map<string, string> {
  const legend = new Map<string, string>();
  for (const b of blocks) if (!legend.has(b.node)) legend.set(b.node, LETTERS[legend.size] ?? '#');
  return legend;
}

/** Rows of characters: "." free, the owner's letter; upper case when this host knows the block is at least half used. */
export function renderCells(cells: readonly Cell[], legend: ReadonlyMap<string, string>): string {
  const chars = cells.map((c) => {
    if (!c.node) return '.';
    const letter = legend.get(c.node) ?? '#';
    return c.use !== null && c.use >= 0.5 ? letter.toUpperCase() : letter;
  });
  const rows: string[] = [];
  for (let i = 0; i < chars.length; i += ROW) rows.push(chars.slice(i, i + ROW).join(''));
  return rows.join('\n') + '\n';
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The same picture as an SVG: a square per cell, coloured by owner, opacity by use. */
export function renderSvg(sections: readonly { title: string; cells: readonly Cell[] }[], legend: ReadonlyMap<string, string>): string {
  const size = 12;
  const nodes = [...legend.keys()];
  const colour = (node: string) => `hsl(${Math.round((nodes.indexOf(node) * 137.5) % 360)},65%,45%)`;
  let y = 20;
  const parts: string[] = [];
  for (const s of sections) {
    parts.push(`<text x="4" y="${y}" font-family="monospace" font-size="12">${esc(s.title)}</text>`);
    y += 8;
    s.cells.forEach((c, i) => {
      const x = 4 + (i % ROW) * size;
      const cy = y + Math.floor(i / ROW) * size;
      const fill = c.node ? colour(c.node) : '#e4e4e4';
      const opacity = c.use === null ? 1 : 0.35 + 0.65 * Math.min(c.use, 1);
      const tip = `${c.label}: ${c.node ? `node ${c.node}${c.use === null ? '' : `, ${Math.round(c.use * 100)}% used`}` : 'free'}`;
      parts.push(`<rect x="${x}" y="${cy}" width="${size - 1}" height="${size - 1}" fill="${fill}" fill-opacity="${opacity.toFixed(2)}"><title>${esc(tip)}</title></rect>`);
    });
    y += Math.ceil(s.cells.length / ROW) * size + 24;
  }
  nodes.forEach((n, i) => {
    parts.push(`<rect x="4" y="${y + i * 16 - 10}" width="11" height="11" fill="${colour(n)}"/><text x="20" y="${y + i * 16}" font-family="monospace" font-size="12">${esc(`${legend.get(n)} ${n}`)}</text>`);
  });
  const height = y + nodes.length * 16 + 8;
  const width = 8 + ROW * size;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${parts.join('\n')}\n</svg>\n`;
}
