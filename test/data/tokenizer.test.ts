// Byte-level BPE: exact round trip on any Unicode (property test), special ids, determinism, save/load,
// and training speed at the tiny spec's vocabulary (512) on the synthetic world's text.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainBpe, Tokenizer } from '../../runtime/data/tokenizer.js';
import { Rng } from '../../runtime/data/rng.js';
import { captions, makeScene, textDoc } from '../../runtime/data/world.js';

const corpus = (() => {
  const rng = new Rng(1), out: string[] = [];
  for (let i = 0; i < 2000; i++) out.push(textDoc(rng, 64), ...captions(makeScene(rng, i, 64), rng));
  out.push('Ünïcödé café — naïve 日本語のテキスト 😀👍🏽 שלום мир', 'The quick brown fox jumps over the lazy dog. 12345 67.89');
  return out;
})();

describe('byte-level BPE tokenizer', () => {
  const t0 = Date.now();
  const tok = trainBpe(corpus, 512);
  const trainMs = Date.now() - t0;

  it('trains vocab 512 quickly with the documented layout', () => {
    expect(trainMs).toBeLessThan(5000);
    expect(tok.vocabSize).toBe(512);
    expect(tok.special).toEqual({ image: 256, bos: 257, eos: 258, pad: 259 });
    expect(tok.merges.length).toBeGreaterThan(100);
    expect(tok.merges.length).toBeLessThanOrEqual(512 - 260);
    // merges compress the world's language
    const s = 'a red circle above a blue square';
    expect(tok.encode(s).length).toBeLessThan(s.length / 2.5);
    expect(corpus.flatMap((c) => tok.encode(c)).reduce((a, b) => Math.max(a, b), 0)).toBeLessThan(512);
  });

  it('round-trips any Unicode string exactly (property)', () => {
    // A leading byte-order mark is text like any other (a random run of the property below found it dropped).
    for (const s of ['\uFEFF', '\uFEFFa', 'a\uFEFF', '\uFEFF\uFEFF']) expect(tok.decode(tok.encode(s))).toBe(s);
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => tok.decode(tok.encode(s)) === s), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), (s) => tok.decode(tok.encode(s)) === s), { numRuns: 500 });
    fc.assert(fc.property(fc.array(fc.constantFrom(...Array.from('a red circle  \n\t. <image><bos>日本😀')), { maxLength: 80 }), (cs) => {
      const s = cs.join('');
      return tok.decode(tok.encode(s)) === s;
    }), { numRuns: 1000 });
  });

  it('keeps special-token spellings in text as plain text', () => {
    const ids = tok.encode('<image><bos>');
    expect(ids).not.toContain(tok.special.image);
    expect(ids).not.toContain(tok.special.bos);
    expect(tok.decode([tok.special.bos, ...tok.encode('hi'), tok.special.eos])).toBe('<bos>hi<eos>');
    expect(tok.decode([tok.special.bos, ...tok.encode('hi'), tok.special.eos], { skipSpecial: true })).toBe('hi');
  });

  it('is deterministic and survives save / load', () => {
    const again = trainBpe(corpus, 512);
    expect(again.merges).toEqual(tok.merges);
    const file = join(mkdtempSync(join(tmpdir(), 'mm-tok-')), 'tokenizer.json');
    tok.save(file);
    const loaded = Tokenizer.load(file);
    expect(loaded.toJSON()).toEqual(tok.toJSON());
    for (const c of corpus.slice(0, 50)) expect(loaded.encode(c)).toEqual(tok.encode(c));
    expect(Tokenizer.fromJSON(JSON.parse(JSON.stringify(tok))).encode('blue')).toEqual(tok.encode('blue'));
  });

  it('rejects bad vocabularies and ids', () => {
    expect(() => trainBpe(['x'], 100)).toThrow(/vocab size/);
    expect(() => tok.decode([99999])).toThrow(/outside the vocabulary/);
    expect(() => Tokenizer.fromJSON({} as never)).toThrow(/mm-bpe/);
  });
});
