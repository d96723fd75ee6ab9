// Robustness on arbitrary input: the tokeniser and the answer normaliser never throw and produce clean output;
// the JSON error locator agrees with JSON.parse on what is valid.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cocoTokenize, PTB_PUNCTUATIONS } from '../../runtime/eval/ptb-tokenize.js';
import { normalizeAnswer, vqaAccuracy } from '../../runtime/eval/vqa.js';
import { jsonErrorOffset, lineCol } from '../../runtime/eval/json-file.js';

const text = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.array(fc.constantFrom('a', 'Cat', "'s", "n't", '.', ',', '(', ')', '"', "'", '-', '--', '...', '/', '*', '$', '3.5', 'Mr.', 'U.S.', ' ', '\t', '\n', '?!', 'grey', '’', '“'), { maxLength: 20 }).map((xs) => xs.join('')));

describe('fuzz', () => {
  it('cocoTokenize: lower-case tokens, single spaces, no PUNCTUATIONS token, idempotent on its output', () => {
    const punct = new Set(PTB_PUNCTUATIONS);
    fc.assert(fc.property(text, (s) => {
      const t = cocoTokenize(s);
      expect(t).toBe(t.trim());
      expect(t).not.toMatch(/ {2}|\t|\n/);
      if (t) for (const w of t.split(' ')) { expect(punct.has(w)).toBe(false); expect(w).toBe(w.toLowerCase()); }
    }), { numRuns: 500 });
  });

  it('normalizeAnswer and vqaAccuracy accept anything', () => {
    fc.assert(fc.property(text, fc.array(text, { minLength: 1, maxLength: 10 }), (p, gts) => {
      expect(typeof normalizeAnswer(p)).toBe('string');
      const a = vqaAccuracy(p, gts);
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThanOrEqual(1);
    }), { numRuns: 300 });
  });

  it('jsonErrorOffset is -1 exactly when JSON.parse succeeds', () => {
    fc.assert(fc.property(fc.oneof(fc.json(), fc.string({ maxLength: 30 }), fc.json().map((j) => j.slice(0, Math.max(0, j.length - 1)))), (s) => {
      let ok = true;
      try { JSON.parse(s); } catch { ok = false; }
      const off = jsonErrorOffset(s);
      expect(off === -1).toBe(ok);
      if (!ok) expect(off).toBeLessThanOrEqual(s.length);
    }), { numRuns: 1000 });
    expect(lineCol('ab\ncd', 4)).toEqual({ line: 2, col: 2 });
  });
});
