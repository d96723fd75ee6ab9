// CIDEr-D against values derived by hand in this file (explicit n-gram lists and weights, not the scorer's code
// path), plus the tokeniser's PTB behaviour and punctuation removal as the COCO toolkit does it.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ciderD, ngramCounts } from '../../runtime/eval/cider.js';
import { cocoTokenize, ptbTokens } from '../../runtime/eval/ptb-tokenize.js';

const m = <V>(o: Record<string, V>) => new Map(Object.entries(o));

describe('PTB tokenisation as pycocoevalcap uses it', () => {
  it('splits clitics and punctuation, PTB quotes and escapes, lower-cases after tokenising', () => {
    expect(ptbTokens("A man's dog, running!")).toEqual(['a', 'man', "'s", 'dog', ',', 'running', '!']);
    expect(ptbTokens("Don't stop.")).toEqual(['do', "n't", 'stop', '.']);
    expect(ptbTokens("can't won't I'm you're")).toEqual(['ca', "n't", 'wo', "n't", 'i', "'m", 'you', "'re"]);
    expect(ptbTokens('He said "hi" (loudly).')).toEqual(['he', 'said', '``', 'hi', "''", '-lrb-', 'loudly', '-rrb-', '.']);
    expect(ptbTokens("I cannot; we'll see...")).toEqual(['i', 'can', 'not', ';', 'we', "'ll", 'see', '...']);
    expect(ptbTokens("The dogs' 'toys'")).toEqual(['the', 'dogs', "'", '`', 'toys', "'"]);
    expect(ptbTokens('Mr. Smith - a black-and-white photo -- on 3.5 acres at 10:30')).toEqual(['mr.', 'smith', '-', 'a', 'black-and-white', 'photo', '--', 'on', '3.5', 'acres', 'at', '10:30']);
    expect(ptbTokens("o'clock, t-shirt 1,000 $5 50% what?!")).toEqual(["o'clock", ',', 't-shirt', '1,000', '$', '5', '50', '%', 'what', '?!']);
    expect(ptbTokens('and/or 1/2 a*b [x] {y}')).toEqual(['and\\/or', '1\\/2', 'a', '\\*', 'b', '-lrb-', 'x', '-rrb-', '-lcb-', 'y', '-rcb-']);
  });

  it('Americanizes as CoreNLP does (case-sensitive word list and the -our rule)', () => {
    expect(ptbTokens('A grey cat, a Grey dog, the colour centre, four hours, a detour')).toEqual(
      ['a', 'gray', 'cat', ',', 'a', 'grey', 'dog', ',', 'the', 'color', 'center', ',', 'four', 'hours', ',', 'a', 'detour']);
  });

  it('keeps the period of abbreviations and single letters', () => {
    expect(ptbTokens('at 5 a.m. in the U.S. with Dr. No')).toEqual(['at', '5', 'a.m.', 'in', 'the', 'u.s.', 'with', 'dr.', 'no']);
    expect(ptbTokens('Plan B.')).toEqual(['plan', 'b.']);
    expect(ptbTokens('There is no.')).toEqual(['there', 'is', 'no.']);
  });

  it('removes exactly the toolkit PUNCTUATIONS tokens (upper-case escapes, so -lrb- survives)', () => {
    expect(cocoTokenize("A man's dog, running!")).toBe("a man 's dog running");
    expect(cocoTokenize('He said "hi" (loudly).')).toBe('he said hi -lrb- loudly -rrb-');
    expect(cocoTokenize("The dogs' toys?")).toBe('the dogs toys');
    expect(cocoTokenize('A  cat\non a mat ; really -- yes... - ok')).toBe('a cat on a mat really yes ok');
    expect(cocoTokenize('It\u2019s a \u201cnice\u201d day\u2014really\u2026')).toBe("it 's a nice day really");
    expect(cocoTokenize('caf\u00e9 \ud83d\ude00 ok')).toBe('caf\u00e9 ok'); // untokenizable characters are deleted
  });

  it('makes CIDEr-D blind to case and sentence punctuation', () => {
    const refs = m({ a: ['A cat on a mat.'], b: ['Two dogs, playing!'] });
    const s1 = ciderD(refs, m({ a: 'a cat on a mat', b: 'two dogs playing' }));
    const s2 = ciderD(refs, m({ a: 'A CAT on a mat!', b: 'Two dogs... playing' }));
    expect(s2.score).toBeCloseTo(s1.score, 12);
  });
});

describe('CIDEr-D, hand-computed', () => {
  it('n-gram counting (precook)', () => {
    const c = ngramCounts('the the bird');
    expect(Object.fromEntries(c)).toEqual({ the: 2, bird: 1, 'the the': 1, 'the bird': 1, 'the the bird': 1 });
  });

  it('two images, single ref = pred, distinct captions: 10·mean([1, 1, 0, 0]) = 5', () => {
    // "a" is in both images (df 2 → weight log2 − log2 = 0); "cat"/"a cat" in one (weight log 2). Unigram and
    // bigram cosines are 1, tri/4-grams do not exist (0), no length difference.
    const r = ciderD(m({ 1: ['a cat'], 2: ['a dog'] }), m({ 1: 'a cat', 2: 'a dog' }));
    expect(r.perImage.get('1')).toBeCloseTo(5, 12);
    expect(r.perImage.get('2')).toBeCloseTo(5, 12);
    expect(r.score).toBeCloseTo(5, 12);
  });

  it('two images with the same single ref and pred: every n-gram has df = #images, so every weight is 0', () => {
    const r = ciderD(m({ x: ['a cat sat'], y: ['a cat sat'] }), m({ x: 'a cat sat', y: 'a cat sat' }));
    expect(r.perImage.get('x')).toBe(0);
    expect(r.score).toBe(0);
  });

  it('a single image scores 0: ref_len = log(1) = 0 makes all weights 0 or negative-zero', () => {
    expect(ciderD(m({ only: ['a cat'] }), m({ only: 'a cat' })).score).toBe(0);
  });

  it('three images: clipping, length penalty on the bigram count, several references', () => {
    const refs = m({ i1: ['the cat sat', 'a cat sat down'], i2: ['a dog ran'], i3: ['the bird'] });
    const preds = m({ i1: 'the cat sat down', i2: 'dog', i3: 'the the bird' });
    const r = ciderD(refs, preds);

    const L = Math.log(3); // weight of an n-gram seen in one image (or none): log 3 − log 1
    const M = Math.log(3) - Math.log(2); // "the" and "a" occur in two images' references
    const pen = (d: number) => Math.exp(-(d * d) / (2 * 36));
    const sq = (x: number) => x * x;

    // i3: hyp uni {the: 2M, bird: L}, bi {the the: L, the bird: L}, tri {the the bird: L}; 2 bigrams.
    //     ref uni {the: M, bird: L}, bi {the bird: L}; 1 bigram. Clipped uni dot = min(2M,M)·M + L·L.
    const u3 = (sq(M) + sq(L)) / (Math.sqrt(4 * sq(M) + sq(L)) * Math.sqrt(sq(M) + sq(L)));
    const b3 = sq(L) / (Math.sqrt(2) * L * L);
    const s3 = ((pen(1) * (u3 + b3 + 0 + 0)) / 4) * 10;

    // i2: hyp uni {dog: L}, 0 bigrams; ref uni {a: M, dog: L, ran: L} with 2 bigrams.
    const s2 = ((pen(2) * (L / Math.sqrt(sq(M) + 2 * sq(L)))) / 4) * 10;

    // i1: hyp "the cat sat down": uni {the: M, cat, sat, down: L}, bi 3×L, tri 2×L, 4-gram 1×L; 3 bigrams.
    //   ref1 "the cat sat" (2 bigrams): uni {the: M, cat: L, sat: L}, bi {the cat, cat sat}, tri {the cat sat}.
    const r1 = pen(1) * (
      (sq(M) + 2 * sq(L)) / (Math.sqrt(sq(M) + 3 * sq(L)) * Math.sqrt(sq(M) + 2 * sq(L))) +
      (2 * sq(L)) / (Math.sqrt(3) * L * Math.sqrt(2) * L) +
      sq(L) / (Math.sqrt(2) * L * L) + 0);
    //   ref2 "a cat sat down" (3 bigrams): shares cat/sat/down, cat sat/sat down, cat sat down; not the 4-gram.
    const r2 = (3 * sq(L)) / (sq(M) + 3 * sq(L)) + 2 / 3 + 1 / 2 + 0;
    const s1 = ((r1 + r2) / 4 / 2) * 10;

    expect(r.perImage.get('i1')).toBeCloseTo(s1, 12);
    expect(r.perImage.get('i2')).toBeCloseTo(s2, 12);
    expect(r.perImage.get('i3')).toBeCloseTo(s3, 12);
    expect(r.score).toBeCloseTo((s1 + s2 + s3) / 3, 12);
  });

  it('only images with a prediction are scored, and their refs alone set df and ref_len', () => {
    const refs = m({ 1: ['a cat'], 2: ['a dog'], 3: ['a bird'] });
    expect(ciderD(refs, m({ 1: 'a cat', 2: 'a dog' })).score).toBeCloseTo(5, 12);
    expect(() => ciderD(refs, m({ 9: 'a cat' }))).toThrow(/no reference captions for image 9/);
  });

  it('properties: non-negative, at most 10 for a single ref, perfect match beats a shuffled caption', () => {
    const word = fc.constantFrom('a', 'cat', 'dog', 'on', 'the', 'red', 'mat', 'sits', 'runs');
    const caption = fc.array(word, { minLength: 1, maxLength: 8 }).map((w) => w.join(' '));
    fc.assert(fc.property(fc.array(caption, { minLength: 2, maxLength: 6 }), fc.array(caption, { minLength: 6, maxLength: 6 }), (refList, predList) => {
      const refs = new Map(refList.map((r, i) => [i, [r]] as [number, string[]]));
      const preds = new Map(refList.map((_, i) => [i, predList[i]!] as [number, string]));
      const r = ciderD(refs, preds);
      for (const v of r.perImage.values()) { expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThanOrEqual(10 + 1e-9); }
      const perfect = ciderD(refs, new Map(refList.map((c, i) => [i, c] as [number, string])));
      for (const [k, v] of perfect.perImage) expect(v).toBeGreaterThanOrEqual(r.perImage.get(k)! - 1e-9);
    }), { numRuns: 200 });
  });
});
