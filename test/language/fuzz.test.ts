// Property test: thousands of random edits of the shipped specs (deletions, insertions, swaps, changed
// numbers, truncation, garbage bytes, deep nesting) never throw, never hang, never hit the internal-error
// guard, and every diagnostic's span lies inside its file.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSource, formatSource, parseSpec } from '../../compiler/language.js';
import type { Diagnostic } from '../../compiler/diagnostics/types.js';
import { memoryReadFile, shippedFiles, shippedText } from './shipped.js';
import { repoRoot } from './golden.js';

const pool = ['{', '}', '(', ')', ';', '=', ':', '.', '-', '*', '/', '\n', '"', '"x"', 'x', '0', '-1', '1e999', '3.5', 'image', 'tokens',
  'moe', 'encoder', 'model', 'train', 'sweep', 'in', 'param', 'import', '"std/vit.mm"', 'mm', '1', '//', '/*', '#', 'true', 'vit_l14.width', 'é', '\u0000', '\t'];

type Edit =
  | { k: 'del'; at: number; len: number }
  | { k: 'ins'; at: number; text: string }
  | { k: 'swap'; a: number; b: number; len: number }
  | { k: 'num'; nth: number; value: string }
  | { k: 'trunc'; at: number }
  | { k: 'nest'; at: number; depth: number; open: string }
  | { k: 'tswap'; a: number; b: number }
  | { k: 'tdel'; a: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ k: fc.constant('del' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ k: fc.constant('ins' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...pool), fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 6 })) }),
  fc.record({ k: fc.constant('swap' as const), a: fc.nat(), b: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ k: fc.constant('num' as const), nth: fc.nat(), value: fc.constantFrom('0', '-3', '1', '7', '2.5', '1e9', '99999999999', '13', '64', '0.0') }),
  fc.record({ k: fc.constant('trunc' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('nest' as const), at: fc.nat(), depth: fc.integer({ min: 1, max: 200 }), open: fc.constantFrom('a { ', '(', '- ', 'x {') }),
  fc.record({ k: fc.constant('tswap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ k: fc.constant('tdel' as const), a: fc.nat() }),
);

/** Token-level edits work on a rough tokenisation: strings, names, numbers, single symbols. */
const tokenRe = /"[^"\n]*"|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?(?:e[+-]?\d+)?|\S/g;

function apply(src: string, e: Edit): string {
  const n = src.length;
  const at = (i: number): number => (n === 0 ? 0 : i % (n + 1));
  switch (e.k) {
    case 'del': { const i = at(e.at); return src.slice(0, i) + src.slice(i + e.len); }
    case 'ins': { const i = at(e.at); return src.slice(0, i) + e.text + src.slice(i); }
    case 'swap': {
      const [i, j] = [at(e.a), at(e.b)].sort((x, y) => x - y) as [number, number];
      if (j < i + e.len) return src;
      return src.slice(0, i) + src.slice(j, j + e.len) + src.slice(i + e.len, j) + src.slice(i, i + e.len) + src.slice(j + e.len);
    }
    case 'num': {
      const nums = [...src.matchAll(/\d+(\.\d+)?/g)];
      if (!nums.length) return src;
      const m = nums[e.nth % nums.length]!;
      return src.slice(0, m.index) + e.value + src.slice(m.index! + m[0].length);
    }
    case 'trunc': return src.slice(0, at(e.at));
    case 'nest': { const i = at(e.at); return src.slice(0, i) + e.open.repeat(e.depth) + src.slice(i); }
    case 'tswap': {
      const toks = [...src.matchAll(tokenRe)];
      if (toks.length < 2) return src;
      const [x, y] = [toks[e.a % toks.length]!, toks[e.b % toks.length]!].sort((p, q) => p.index! - q.index!) as [RegExpExecArray, RegExpExecArray];
      if (x.index === y.index) return src;
      return src.slice(0, x.index) + y[0] + src.slice(x.index! + x[0].length, y.index) + x[0] + src.slice(y.index! + y[0].length);
    }
    case 'tdel': {
      const toks = [...src.matchAll(tokenRe)];
      if (!toks.length) return src;
      const t = toks[e.a % toks.length]!;
      return src.slice(0, t.index) + src.slice(t.index! + t[0].length);
    }
  }
}

function spansInside(ds: Diagnostic[], sources: Map<string, string>): void {
  for (const d of ds) {
    expect(d.code).not.toBe('MM9999');
    for (const s of [d.span, ...(d.related ?? []).map((r) => r.span)]) {
      if (!s) continue;
      const text = sources.get(s.file);
      expect(text, `span in unknown file ${s.file}`).toBeDefined();
      expect(s.start).toBeGreaterThanOrEqual(0);
      expect(s.end).toBeGreaterThanOrEqual(s.start);
      expect(s.end).toBeLessThanOrEqual(text!.length);
      expect(s.line).toBeGreaterThanOrEqual(1);
      expect(s.col).toBeGreaterThanOrEqual(1);
    }
  }
}

const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x ?? null, (k, v) => (k === 'span' || k.endsWith('Span') || k === 'comments' ? undefined : v)));

const files = shippedFiles.filter((f) => !f.includes('/std/'));

describe('random edits of the shipped specs', () => {
  it('never throw, never hang, and keep spans inside the file', () => {
    fc.assert(
      fc.property(fc.constantFrom(...files), fc.array(edit, { minLength: 1, maxLength: 4 }), (file, edits) => {
        const src = edits.reduce(apply, shippedText.get(file)!);
        const t0 = performance.now();
        const r = checkSource(src, file, { readFile: (p) => (p === file ? src : memoryReadFile(p)), projectRoot: repoRoot });
        const p = parseSpec(src, file);
        const f = formatSource(src, file);
        expect(performance.now() - t0).toBeLessThan(2000);
        // Imports resolve against the real files; collect every text a span may point into.
        const sources = new Map<string, string>([...shippedText, [file, src]]);
        spansInside(r.diagnostics, sources);
        spansInside(p.diagnostics, sources);
        spansInside(f.diagnostics, sources);
        if (f.value !== undefined) {
          // Formatting is idempotent and never changes meaning.
          expect(formatSource(f.value, file).value).toBe(f.value);
          expect(strip(parseSpec(f.value, file).value)).toEqual(strip(p.value));
        }
      }),
      { numRuns: 1500, seed: 42 },
    );
  });

  it('pure garbage never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (src) => {
        const r = checkSource(src, '/tmp/garbage.mm', { readFile: () => undefined, projectRoot: '/tmp' });
        spansInside(r.diagnostics, new Map([['/tmp/garbage.mm', src]]));
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});
