// The evaluation driver (MM1 protocol): few-shot captioning (CIDEr-D) and VQA (VQA accuracy) with
// OpenFlamingo-style prompts, demonstrations drawn per seed from a held-out pool, answers cut where the model
// starts the next demonstration; mean ± std over seeds per shot count; optional held-out text perplexity.
// The model is behind `Completer` (tested with a fake; run with the KV-cache Generator, greedy prompts batched).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ciderD } from './cider.js';
import { captionPrompt, postprocessAnswer, vqaPrompt, type CaptionExample, type PromptItem, type VqaExample } from './fewshot.js';
import { InputFileError, readJsonFile } from './json-file.js';
import type { Grounding } from './grounding.js';
import { vqaScore, type VqaAnnotation, type VqaQuestion } from './vqa.js';
import type { ModelSpec } from '../../compiler/semantics/spec.js';
import { Generator, defaultPrefillChunk, type EngineFactory } from '../generate.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { encodePrompt } from '../data/mixer.js';
import { loadRgb, normalizeClip } from '../data/image.js';

export type Task = 'captioning' | 'vqa';

/** What the driver needs from a model: text after a prompt, and (optionally) log-likelihood of a text. */
export interface Completer {
  complete(items: PromptItem[], task: Task, maxNewTokens: number): Promise<string>;
  /** Several prompts at once (batched decoding); the driver uses it when present. */
  completeBatch?(prompts: PromptItem[][], task: Task, maxNewTokens: number): Promise<string[]>;
  scoreText?(text: string): Promise<{ logProb: number; count: number }>;
}

export interface CaptionSet { queries: CaptionExample[]; refs: Map<string, string[]>; pool: CaptionExample[] }
export type VqaQuery = VqaExample & { question_id: number | string };
export type Prediction = { image_id?: string | number; question_id?: string | number; caption?: string; answer?: string };
export interface VqaSet { queries: VqaQuery[]; questions: VqaQuestion[]; annotations: VqaAnnotation[]; pool: VqaExample[] }
export interface EvalData { captioning?: CaptionSet; vqa?: VqaSet; text?: string[] }

export interface EvalOptions {
  /** Shot counts for every task, or per task (a task with none is skipped). */
  shots: number[] | Partial<Record<Task, number[]>>;
  seeds: number;
  maxNewTokens: { captioning: number; vqa: number };
  /** Queries per task (the first N); default all. */
  limit?: number;
  tasks?: Task[];
  /** Prompts per completeBatch call (default 8). */
  batchSize?: number;
  log?: (line: string) => void;
}

export interface Cell { mean: number; std: number; perSeed: number[] }
export interface EvalReport {
  shots: number[];
  seeds: number;
  /** task → shots → metric (CIDEr-D ×100, VQA accuracy %) over seeds. */
  results: Partial<Record<Task, Record<string, Cell>>>;
  perplexity: { value: number; tokens: number } | null;
  /** Held-out caption loss with the right vs rotated images (eval/grounding.ts); absent when not measured. */
  grounding?: Grounding | null;
  /** task → shots → seed → predictions (COCO / VQA result format). */
  predictions: Partial<Record<Task, Record<string, Prediction[][]>>>;
}

/** toFixed without a minus sign on values that round to zero. */
export const fixed = (x: number, d: number): string => (Math.abs(x) < 0.5 * 10 ** -d ? 0 : x).toFixed(d);

export const meanStd = (xs: readonly number[]): { mean: number; std: number } => {
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const v = xs.length > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1) : 0;   // sample std
  return { mean, std: Math.sqrt(v) };
};

async function completeAll(model: Completer, prompts: PromptItem[][], task: Task, maxNew: number, batch = 8): Promise<string[]> {
  if (!model.completeBatch || batch <= 1) {
    const out: string[] = [];
    for (const p of prompts) out.push(await model.complete(p, task, maxNew));
    return out;
  }
  const out: string[] = [];
  for (let i = 0; i < prompts.length; i += batch) out.push(...await model.completeBatch(prompts.slice(i, i + batch), task, maxNew));
  return out;
}

/** Runs every (task, shots, seed); 0-shot prompts do not depend on the seed, so they run once. */
export async function runEval(data: EvalData, model: Completer, opts: EvalOptions): Promise<EvalReport> {
  const log = opts.log ?? (() => {});
  const shotsOf = (t: Task): number[] => (Array.isArray(opts.shots) ? opts.shots : opts.shots[t] ?? []);
  const tasks = (opts.tasks ?? ['captioning', 'vqa'] as Task[]).filter((t) => data[t] && shotsOf(t).length > 0);
  const allShots = [...new Set(tasks.flatMap(shotsOf))].sort((a, b) => a - b);
  for (const t of tasks) {
    const pool = data[t]!.pool.length, k = Math.max(...shotsOf(t));
    if (k > pool - 1) throw new InputFileError(`${t}: ${k}-shot prompts need ${k} demonstrations besides the query, but the pool has ${pool} example(s)`);
  }
  const report: EvalReport = { shots: allShots, seeds: opts.seeds, results: {}, perplexity: null, predictions: {} };
  for (const task of tasks) {
    const res: Record<string, Cell> = {}, preds: Record<string, Prediction[][]> = {};
    for (const k of shotsOf(task)) {
      const seeds = k === 0 ? 1 : Math.max(1, opts.seeds);
      const perSeed: number[] = [];
      preds[k] = [];
      for (let seed = 0; seed < seeds; seed++) {
        const t0 = Date.now();
        if (task === 'captioning') {
          const d = data.captioning!;
          const qs = d.queries.slice(0, opts.limit ?? d.queries.length);
          const texts = await completeAll(model, qs.map((q) => captionPrompt(q, d.pool, k, { seed })), task, opts.maxNewTokens.captioning, opts.batchSize);
          const list = qs.map((q, i) => ({ image_id: q.id, caption: postprocessAnswer(texts[i]!) }));
          perSeed.push(100 * ciderD(d.refs, new Map(list.map((p) => [String(p.image_id), p.caption]))).score);
          preds[k]!.push(list);
        } else {
          const d = data.vqa!;
          const qs = d.queries.slice(0, opts.limit ?? d.queries.length);
          const texts = await completeAll(model, qs.map((q) => vqaPrompt(q, d.pool, k, { seed })), task, opts.maxNewTokens.vqa, opts.batchSize);
          const list = qs.map((q, i) => ({ question_id: q.question_id, answer: postprocessAnswer(texts[i]!) }));
          perSeed.push(vqaScore(d.questions, d.annotations, list).overall);
          preds[k]!.push(list);
        }
        log(`${task} ${k}-shot seed ${seed}: ${perSeed[perSeed.length - 1]!.toFixed(2)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }
      res[k] = { ...meanStd(perSeed), perSeed };
    }
    report.results[task] = res;
    report.predictions[task] = preds;
  }
  if (data.text?.length && model.scoreText) {
    let lp = 0, n = 0;
    for (const doc of data.text.slice(0, opts.limit ?? data.text.length)) {
      const r = await model.scoreText(doc);
      lp += r.logProb; n += r.count;
    }
    if (n > 0) report.perplexity = { value: Math.exp(-lp / n), tokens: n };
  }
  return report;
}

const METRIC: Record<Task, string> = { captioning: 'CIDEr-D', vqa: 'VQA acc' };

/** metric × shots, `mean ± std` over seeds (Markdown table). */
export function formatTable(r: EvalReport): string {
  const head = ['metric', ...r.shots.map((k) => `${k}-shot`)];
  const rows = (Object.keys(r.results) as Task[]).map((t) => [METRIC[t], ...r.shots.map((k) => {
    const c = r.results[t]![k];
    return c ? `${c.mean.toFixed(2)} ± ${c.std.toFixed(2)}` : '—';
  })]);
  const lines = [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`);
  if (r.perplexity) lines.push('', `held-out text perplexity: ${r.perplexity.value.toFixed(3)} (${r.perplexity.tokens} tokens)`);
  if (r.grounding) {
    const g = r.grounding;
    lines.push('', `image use: held-out caption loss ${g.loss.toFixed(3)}, with images rotated ${g.shuffledLoss.toFixed(3)}, gap ${fixed(g.gap, 3)} nats/token (${g.pairs} pairs)`);
  }
  return lines.join('\n');
}

// ── data ─────────────────────────────────────────────────────────────────────────────────────────────

type Json = Record<string, unknown>;
const arr = (file: string, j: unknown, key: string): Json[] => {
  const v = (j as Json | null)?.[key];
  if (!Array.isArray(v)) throw new InputFileError(`${file}: expected {"${key}": [...]}`);
  return v as Json[];
};

/** COCO captions file → examples (one per image, first reference as its demonstration text) + refs. */
export function readCocoCaptions(file: string): { examples: CaptionExample[]; refs: Map<string, string[]>; imageFiles: Map<string, string> } {
  const j = readJsonFile(file, 'COCO captions');
  const dir = path.dirname(file);
  const imageFiles = new Map<string, string>();
  for (const im of arr(file, j, 'images')) imageFiles.set(String(im.id), path.resolve(dir, String(im.file_name)));
  const refs = new Map<string, string[]>();
  for (const a of arr(file, j, 'annotations')) {
    const k = String(a.image_id);
    if (!imageFiles.has(k)) throw new InputFileError(`${file}: annotation for image ${k}, which is not in "images"`);
    (refs.get(k) ?? refs.set(k, []).get(k)!).push(String(a.caption));
  }
  const examples = [...refs].map(([id, caps]) => ({ id, image: imageFiles.get(id)!, caption: caps[0]! }));
  return { examples, refs, imageFiles };
}

/** VQA questions + annotations; image files from the split's COCO images list. */
export function readVqa(qFile: string, aFile: string, imageFiles: Map<string, string>): { examples: VqaQuery[]; questions: VqaQuestion[]; annotations: VqaAnnotation[] } {
  const questions = arr(qFile, readJsonFile(qFile, 'VQA questions'), 'questions') as unknown as VqaQuestion[];
  const annotations = arr(aFile, readJsonFile(aFile, 'VQA annotations'), 'annotations') as unknown as VqaAnnotation[];
  const byQ = new Map(annotations.map((a) => [String(a.question_id), a]));
  const examples = questions.map((q) => {
    const a = byQ.get(String(q.question_id));
    if (!a) throw new InputFileError(`${aFile}: no annotation for question ${q.question_id}`);
    const image = imageFiles.get(String(q.image_id));
    if (!image) throw new InputFileError(`${qFile}: question ${q.question_id} names image ${String(q.image_id)}, which no captions file lists`);
    return { id: q.question_id, question_id: q.question_id, image, question: String(q.question ?? ''), answer: a.multiple_choice_answer ?? a.answers[0]?.answer ?? '' };
  });
  return { examples, questions, annotations };
}

/**
 * The synthetic world's held-out split (DIR/eval): captions.json, vqa_*.json and the pool_* demonstration
 * files; eval/text.jsonl (held-out text, when present) for perplexity. Missing VQA files skip VQA.
 */
export function loadEvalDir(dir: string): EvalData {
  const e = fs.existsSync(path.join(dir, 'eval', 'captions.json')) ? path.join(dir, 'eval') : dir;
  const f = (n: string) => path.join(e, n);
  if (!fs.existsSync(f('captions.json'))) throw new InputFileError(`${dir}: no eval/captions.json (create the data set with \`mm data synth --out ${dir}\`)`);
  const cap = readCocoCaptions(f('captions.json'));
  const pool = fs.existsSync(f('pool_captions.json')) ? readCocoCaptions(f('pool_captions.json')) : null;
  const data: EvalData = { captioning: { queries: cap.examples, refs: cap.refs, pool: pool?.examples ?? cap.examples } };
  if (fs.existsSync(f('vqa_questions.json')) && fs.existsSync(f('vqa_annotations.json'))) {
    const v = readVqa(f('vqa_questions.json'), f('vqa_annotations.json'), cap.imageFiles);
    let vpool = v.examples as VqaExample[];
    if (pool && fs.existsSync(f('pool_vqa_questions.json')) && fs.existsSync(f('pool_vqa_annotations.json'))) {
      vpool = readVqa(f('pool_vqa_questions.json'), f('pool_vqa_annotations.json'), pool.imageFiles).examples;
    }
    data.vqa = { queries: v.examples, questions: v.questions, annotations: v.annotations, pool: vpool };
  }
  if (fs.existsSync(f('text.jsonl'))) {
    data.text = fs.readFileSync(f('text.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => String((JSON.parse(l) as Json).text ?? ''));
  }
  return data;
}

// ── the model behind Completer: the KV-cache Generator ──────────────────────────────────────────────

export interface GeneratorCompleterOptions {
  factory: EngineFactory;
  model: ModelSpec;
  tok: Tokenizer;
  /** Checkpoint weights (null: the engines' own initialisation, for smoke tests). */
  weights: ReadonlyMap<string, Float32Array> | null;
  /** Default: defaultPrefillChunk(model). */
  prefillChunk?: number;
  /** 1 = greedy (MM1 also reports beam 3). */
  beam?: number;
  /** Greedy prompts decoded together (left-padded batch); 1 = one at a time. */
  batch?: number;
  log?: (line: string) => void;
}

/**
 * A Completer over a Generator whose cache grows (engines rebuilt) when a prompt needs more room. Answers stop
 * at `<eos>`, a newline, or the next "Question:" / "Output:"; `<image>`, `<bos>`, `<pad>` and ids past the
 * tokenizer's vocabulary are never generated.
 */
/**
 * Ids a model may generate and a decode that never throws: the tokenizer's specials other than `<eos>` and
 * every id past what it can decode (bytes + 4 specials + merges; the decoder's vocab may be larger) are banned.
 */
export function tokenizerGuards(tok: Tokenizer, V: number): { ban: number[]; decode: (ids: number[]) => string } {
  const n = Math.min(tok.vocabSize, 260 + tok.merges.length);
  const ban = [tok.special.image, tok.special.bos, tok.special.pad];
  for (let id = n; id < V; id++) ban.push(id);
  return { ban, decode: (ids) => tok.decode(ids.filter((i) => i < n), { skipSpecial: true }) };
}

export function generatorCompleter(o: GeneratorCompleterOptions): Completer & { dispose(): void } {
  const { tok, model } = o;
  const C = o.prefillChunk ?? defaultPrefillChunk(model), V = model.decoder.vocab, M = model.connector?.tokens ?? 0;
  const { ban, decode } = tokenizerGuards(tok, V);
  const images = new Map<string, Promise<Float32Array>>();
  const image = (file: string): Promise<Float32Array> => {
    let p = images.get(file);
    if (!p) {
      if (!model.encoder) throw new Error(`model '${model.name}' has no image encoder`);
      p = loadRgb(file, model.encoder.image).then((rgb) => normalizeClip(rgb)).catch((e: Error) => { throw new InputFileError(`${file}: cannot load image (${e.message.split('\n')[0]})`); });
      images.set(file, p);
    }
    return p;
  };
  let gen: Generator | null = null;
  let warned = false;
  const generator = async (need: number): Promise<Generator> => {
    if (gen && gen.opts.Tmax >= need) return gen;
    const Tmax = Math.ceil(Math.max(need, (gen?.opts.Tmax ?? 0) * 1.5) / C) * C;
    if (Tmax > model.decoder.maxSeq && !warned) { warned = true; o.log?.(`warning: prompts need ${need} positions, past the model's max_seq ${model.decoder.maxSeq}`); }
    gen?.dispose();
    gen = await Generator.create(o.factory, model, { Tmax, prefillChunk: C, imageToken: tok.special.image, padToken: tok.special.pad });
    if (o.weights) gen.loadWeights(o.weights);
    return gen;
  };
  const encode = async (items: PromptItem[]) => encodePrompt(tok, await Promise.all(items.map(async (it) => ('image' in it ? { image: await image(it.image) } : it))), M);
  const stopping = { stopTokens: [tok.special.eos], stopStrings: ['\n', 'Question:', 'Output:'], decode, banTokens: ban };
  const B = Math.max(1, o.batch ?? 1);
  return {
    async complete(items, _task, maxNewTokens) {
      const p = await encode(items);
      const g = await generator(p.tokens.length + maxNewTokens);
      const r = await g.generate(p.tokens, p.images, { maxNewTokens, strategy: (o.beam ?? 1) > 1 ? { kind: 'beam', width: o.beam! } : { kind: 'greedy' }, ...stopping });
      return r.text ?? '';
    },
    ...((o.beam ?? 1) <= 1 && B > 1 ? {
      async completeBatch(prompts: PromptItem[][], _task: Task, maxNewTokens: number): Promise<string[]> {
        const rows = await Promise.all(prompts.map(encode));
        // Always B rows (a short last batch repeats its first prompt), so one pair of engines serves every batch.
        const padded = Array.from({ length: B }, (_, i) => rows[i] ?? rows[0]!).map((r) => ({ tokens: r.tokens, images: r.images }));
        const g = await generator(Math.max(...padded.map((r) => r.tokens.length)) + maxNewTokens);
        const res = await g.generateBatch(padded, { maxNewTokens, ...stopping });
        return res.slice(0, prompts.length).map((r) => r.text ?? '');
      },
    } : {}),
    async scoreText(text) {
      // Documents longer than the model's context are scored in independent windows of max_seq tokens.
      const ids = [tok.special.bos, ...tok.encode(text), tok.special.eos];
      const W = Math.max(2, model.decoder.maxSeq);
      let logProb = 0, count = 0;
      for (let i = 0; i < ids.length - 1; i += W - 1) {
        const win = ids.slice(i, i + W);
        if (win.length < 2) break;
        const r = await (await generator(win.length)).scoreTokens(win);
        logProb += r.logProb; count += r.count;
      }
      return { logProb, count };
    },
    dispose() { gen?.dispose(); gen = null; },
  };
}
