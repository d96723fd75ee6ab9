// Few-shot prompts in the OpenFlamingo style that MM1 evaluates with: `<image>Output: {caption}` for
// captioning and `<image>Question: {q} Short answer: {a}` for VQA, k demonstrations drawn at random from a
// pool that excludes the query, and the post-processing that cuts a generated answer where the model starts
// imitating the next demonstration.

import { Prng } from './prng.js';

/** One prompt element: an image (file path) or a run of text; the generator embeds them in order. */
export type PromptItem = { image: string } | { text: string };

export interface CaptionExample { id: string | number; image: string; caption: string }
export interface VqaExample { id: string | number; image: string; question: string; answer: string }

export interface FewShotOptions {
  /** Seed of the demonstration draw; the stream is keyed by the query id, so order of evaluation is irrelevant. */
  seed: number;
  /** Text that ends each demonstration (OpenFlamingo uses `<|endofchunk|>`); default a newline. */
  separator?: string;
}

/**
 * k demonstrations drawn without replacement from `pool`, never the query itself (same id or same image: a
 * demonstration showing the query's own image would leak its answer).
 */
export function drawDemonstrations<T extends { id: string | number; image: string }>(
  pool: readonly T[], query: { id: string | number; image: string }, k: number, seed: number,
): T[] {
  const eligible = pool.filter((e) => String(e.id) !== String(query.id) && e.image !== query.image);
  if (k > eligible.length) throw new Error(`asked for ${k} demonstrations but the pool has only ${eligible.length} besides the query`);
  const rng = new Prng(seed, query.id);
  return rng.sampleIndices(eligible.length, k).map((i) => eligible[i]!);
}

export function captionPrompt(query: { id: string | number; image: string }, pool: readonly CaptionExample[], k: number, opts: FewShotOptions): PromptItem[] {
  const sep = opts.separator ?? '\n';
  const items: PromptItem[] = [];
  for (const d of drawDemonstrations(pool, query, k, opts.seed)) {
    items.push({ image: d.image }, { text: `Output: ${d.caption}${sep}` });
  }
  items.push({ image: query.image }, { text: 'Output:' });
  return items;
}

export function vqaPrompt(query: { id: string | number; image: string; question: string }, pool: readonly VqaExample[], k: number, opts: FewShotOptions): PromptItem[] {
  const sep = opts.separator ?? '\n';
  const items: PromptItem[] = [];
  for (const d of drawDemonstrations(pool, query, k, opts.seed)) {
    items.push({ image: d.image }, { text: `Question: ${d.question} Short answer: ${d.answer}${sep}` });
  }
  items.push({ image: query.image }, { text: `Question: ${query.question} Short answer:` });
  return items;
}

/** The prompt as one string with `<image>` placeholders (for logs and for text-only tokenisation). */
export function promptText(items: readonly PromptItem[], imageToken = '<image>'): string {
  return items.map((it) => ('image' in it ? imageToken : it.text)).join('');
}

/**
 * Generated text → answer: cut at the first newline, "Question:", "Output:" or the separator (where the model
 * starts a new demonstration), then trim.
 */
export function postprocessAnswer(generated: string, extraStops: readonly string[] = []): string {
  let cut = generated.length;
  for (const s of ['\n', 'Question:', 'Output:', '<|endofchunk|>', ...extraStops]) {
    const i = generated.indexOf(s);
    if (s.length > 0 && i >= 0 && i < cut) cut = i;
  }
  return generated.slice(0, cut).trim();
}
