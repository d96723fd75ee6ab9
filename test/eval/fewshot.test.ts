// Few-shot prompts: the OpenFlamingo formats verbatim, demonstrations that are deterministic per (seed,
// query), distinct and never the query, and the post-processing that cuts a generation at the next shot.

import { describe, expect, it } from 'vitest';
import { captionPrompt, drawDemonstrations, postprocessAnswer, promptText, vqaPrompt, type CaptionExample, type VqaExample } from '../../runtime/eval/fewshot.js';

const pool: CaptionExample[] = Array.from({ length: 20 }, (_, i) => ({ id: i, image: `img/${i}.png`, caption: `caption ${i}` }));
const vpool: VqaExample[] = Array.from({ length: 10 }, (_, i) => ({ id: `q${i}`, image: `img/${i}.png`, question: `what is ${i}?`, answer: `${i}` }));

describe('few-shot prompts', () => {
  it('captioning: k × (<image>Output: caption\\n), then the query image and "Output:"', () => {
    const items = captionPrompt({ id: 3, image: 'img/3.png' }, pool, 2, { seed: 1 });
    expect(items).toHaveLength(6);
    expect(items[4]).toEqual({ image: 'img/3.png' });
    expect(items[5]).toEqual({ text: 'Output:' });
    const text = promptText(items);
    expect(text).toMatch(/^<image>Output: caption \d+\n<image>Output: caption \d+\n<image>Output:$/);
  });

  it('VQA: <image>Question: q Short answer: a', () => {
    const items = vqaPrompt({ id: 'x', image: 'img/x.png', question: 'Is it red?' }, vpool, 1, { seed: 5, separator: '<|endofchunk|>' });
    expect(promptText(items)).toMatch(/^<image>Question: what is \d\? Short answer: \d<\|endofchunk\|><image>Question: Is it red\? Short answer:$/);
    expect(promptText(vqaPrompt({ id: 'x', image: 'i.png', question: 'Q?' }, vpool, 0, { seed: 5 }))).toBe('<image>Question: Q? Short answer:');
  });

  it('demonstrations: deterministic per (seed, query), distinct, never the query id or image', () => {
    for (let q = 0; q < 20; q++) {
      const a = drawDemonstrations(pool, pool[q]!, 8, 123);
      expect(drawDemonstrations(pool, pool[q]!, 8, 123)).toEqual(a);
      expect(new Set(a.map((d) => d.id)).size).toBe(8);
      expect(a.some((d) => d.id === q || d.image === pool[q]!.image)).toBe(false);
    }
    const seeds = new Set([1, 2, 3, 4, 5].map((s) => drawDemonstrations(pool, pool[0]!, 4, s).map((d) => d.id).join()));
    expect(seeds.size).toBeGreaterThan(1);
    expect(() => drawDemonstrations(pool.slice(0, 3), pool[0]!, 3, 1)).toThrow(/only 2/);
  });

  it('post-processing cuts at a newline, "Question:", "Output:" and trims', () => {
    expect(postprocessAnswer(' a cat on a mat\nOutput: a dog')).toBe('a cat on a mat');
    expect(postprocessAnswer(' yes Question: is it')).toBe('yes');
    expect(postprocessAnswer('two Output: x')).toBe('two');
    expect(postprocessAnswer('blue<|endofchunk|>')).toBe('blue');
    expect(postprocessAnswer('  plain  ')).toBe('plain');
  });
});
