/**
 * The README's benchmark headline figures are the recorded ones: every number in a row of the headline table
 * (README "## Benchmarks", the table after "Headline figures") appears in that benchmark's section of
 * bench/RESULTS.md, which `npm run bench` writes from the run itself. A figure typed from memory, rounded,
 * or carried over from an earlier run fails here. Formatting is normalised (1,250 = 1250, 8.40 = 8.4); a
 * figure must otherwise be written as RESULTS.md writes it (0.93 is not 0.932, 19.0k is not 18,961).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The numbers of a text, normalised: digit-group commas dropped, trailing decimal zeros dropped. A number
 * glued to a word before it is part of a name, not a figure (p99, ed25519, v20); a letter glued after it stays
 * on it (19.0k stays "19k", so it never matches 19), except x, the ratio sign (1.86x is 1.86).
 */
function figures(text: string): string[] {
  const out: string[] = [];
  const number = /(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?([A-Za-z]*)/g;
  for (const m of text.matchAll(number)) {
    const value = String(Number(`${(m[1] ?? '').replaceAll(',', '')}${m[2] ?? ''}`));
    const suffix = m[3] ?? '';
    out.push(suffix === '' || suffix === 'x' ? value : `${value}${suffix}`);
  }
  return out;
}

/** The text of a `## heading` section of a Markdown document, up to the next `## ` heading. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`no "## ${heading}" section`);
  const next = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, next === -1 ? undefined : next);
}

/** The rows of the first Markdown table after `marker` in `text`: [first cell, rest of the row]. */
function tableAfter(text: string, marker: string): Array<[string, string]> {
  const at = text.indexOf(marker);
  if (at === -1) throw new Error(`no "${marker}"`);
  const lines = text.slice(at).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  if (first === -1) throw new Error(`no table after "${marker}"`);
  const table: string[] = [];
  for (const l of lines.slice(first)) {
    if (!l.startsWith('|')) break;
    table.push(l);
  }
  // Header and separator rows first.
  return table.slice(2).map((l) => {
    const cells = l.split('|').slice(1, -1).map((c) => c.trim());
    return [(cells[0] ?? '').replaceAll('`', ''), cells.slice(1).join(' | ')];
  });
}

/** The figures of `claimed` that `recorded` does not contain. */
function missingFigures(claimed: string, recorded: string): string[] {
  const have = new Set(figures(recorded));
  return [...new Set(figures(claimed))].filter((f) => !have.has(f));
}

test('figures: grouping and trailing zeros normalised, names and suffixes kept apart', () => {
  assert.equal(figures('1,250 msg/s, 8.40 ms, 0.932, 1.86x, 12,345.60'), ['1250', '8.4', '0.932', '1.86', '12345.6']);
  assert.equal(figures('p99 ed25519 v20.1 t0'), []);
  assert.equal(figures('19.0k/s, 128-byte, 3, 7, 15'), ['19k', '128', '3', '7', '15']);
});

test('missingFigures: a changed, rounded or abbreviated figure is missing', () => {
  const recorded = '| 16 | tree | 1,162 | 247 |\n- largest 52.0 ms late, efficiency 0.932';
  assert.equal(missingFigures('1,162 msg/s, p99 247 ms, 52 ms, 0.932', recorded), []);
  assert.equal(missingFigures('1,250 msg/s', recorded), ['1250']);
  assert.equal(missingFigures('efficiency 0.93', recorded), ['0.93']);
  assert.equal(missingFigures('1.2k msg/s', recorded), ['1.2k']);
});

test('every figure of the README benchmark headline table is in its section of bench/RESULTS.md', () => {
  const readme = section(readFileSync(`${root}README.md`, 'utf8'), 'Benchmarks');
  const results = readFileSync(`${root}bench/RESULTS.md`, 'utf8');
  const rows = tableAfter(readme, 'Headline figures');
  assert.ok(rows.length >= 3, `found the headline rows (${rows.map((r) => r[0]).join(', ')})`);
  const problems: string[] = [];
  for (const [benchmark, text] of rows) {
    const missing = missingFigures(text, section(results, benchmark));
    if (missing.length > 0) problems.push(`${benchmark}: ${missing.join(', ')} not in the "## ${benchmark}" section of bench/RESULTS.md`);
  }
  assert.equal(problems, [], problems.join('\n'));
});

test.run();
