/** Plain-text tables and bars for the operator commands (no colours: output is often piped). */

/** Columns padded to their widest cell; `right` lists columns aligned right (numbers). */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], right: readonly number[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** `[#####.....]  50.0%`; exact for huge (IPv6) totals because it works on bigints. */
export function utilizationBar(used: bigint, total: bigint, width = 20): string {
  const filled = total === 0n ? width : Number((used * BigInt(width) + total - 1n) / total);
  return `[${'#'.repeat(Math.min(filled, width))}${'.'.repeat(Math.max(width - filled, 0))}] ${percent(used, total)}`;
}

export function percent(used: bigint, total: bigint): string {
  if (total === 0n) return '100%';
  const tenths = Number((used * 1000n) / total);
  return `${(tenths / 10).toFixed(1)}%`;
}

/** JSON with bigints written as plain numbers (exact, unlike JS numbers beyond 2^53). */
export function toJson(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    marks.push(v.toString());
    return `\u0000bigint${marks.length - 1}\u0000`;
  }, 2);
  return `${text.replace(/"\\u0000bigint(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]!)}\n`;
}
