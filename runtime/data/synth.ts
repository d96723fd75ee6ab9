// `mm data synth`: renders the synthetic world to disk in the formats the mixer and the evaluators read.
// Train: captions.jsonl, interleaved.jsonl, text.txt, images/, scenes.jsonl. Held out: eval/ (text.jsonl, COCO captions,
// VQA questions/annotations, images, scenes) and a disjoint few-shot demonstration pool (eval/pool_*.json).
import { mkdirSync, writeFileSync, createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Rng } from './rng.js';
import { captions, interleavedDoc, makeScene, render, textDoc, vqa, type Scene } from './world.js';

export interface SynthOptions {
  out: string;
  seed?: number;          // default 0
  images?: number;        // training images (default 2000)
  evalImages?: number;    // held-out evaluation images (default max(50, images / 10))
  poolImages?: number;    // few-shot demonstration pool (default max(32, images / 20))
  size?: number;          // px (default 64; the mixer resizes to the spec's resolution)
  words?: boolean;        // also render a word under the shapes (text-reading questions)
  docs?: number;          // interleaved documents (default images / 4)
  textDocs?: number;      // text-only documents (default images / 4)
  onProgress?: (done: number, total: number) => void;
}

export interface SynthSummary {
  out: string; seed: number; size: number;
  train: { images: number; captions: number; interleaved: number; textDocs: number };
  eval: { images: number; captions: number; questions: number };
  pool: { images: number; captions: number; questions: number };
}

/** Writes lines through a stream so 10k-image sets do not build one giant string. */
class Lines {
  private s: WriteStream;
  count = 0;
  constructor(path: string) { this.s = createWriteStream(path); }
  write(line: string): void { this.s.write(line + '\n'); this.count++; }
  close(): Promise<void> { return new Promise((res, rej) => this.s.end((e?: Error | null) => (e ? rej(e) : res()))); }
}

export async function synth(o: SynthOptions): Promise<SynthSummary> {
  const seed = o.seed ?? 0, size = o.size ?? 64, nTrain = o.images ?? 2000;
  const nEval = o.evalImages ?? Math.max(50, Math.floor(nTrain / 10));
  const nPool = o.poolImages ?? Math.max(32, Math.floor(nTrain / 20));
  const nDocs = o.docs ?? Math.max(1, Math.floor(nTrain / 4)), nText = o.textDocs ?? Math.max(1, Math.floor(nTrain / 4));
  const total = nTrain + nEval + nPool;
  let done = 0;
  for (const d of ['images', 'eval', 'eval/images']) mkdirSync(join(o.out, d), { recursive: true });

  // independent streams per split: changing --images never changes the eval set's content given its size
  const draw = (stream: number, n: number, dir: string, prefix: string): Scene[] => {
    const rng = new Rng((seed * 7919 + stream * 104729) >>> 0);
    const scenes: Scene[] = [];
    for (let i = 0; i < n; i++) {
      const s = makeScene(rng, stream * 1_000_000 + i, size, { words: o.words, prefix });
      writeFileSync(join(o.out, dir, s.file), render(s));
      scenes.push(s);
      if (++done % 100 === 0) o.onProgress?.(done, total);
    }
    return scenes;
  };
  const train = draw(0, nTrain, 'images', 't');
  const evalScenes = draw(1, nEval, 'eval/images', 'e');
  const pool = draw(2, nPool, 'eval/images', 'p');
  o.onProgress?.(total, total);

  const rng = new Rng((seed * 31 + 17) >>> 0);
  // captions.jsonl: up to 3 phrasings per image, shuffled so a streaming reader sees a mixed order
  const capLines: string[] = [];
  for (const s of train) {
    for (const c of rng.shuffle(captions(s, rng)).slice(0, 3)) capLines.push(JSON.stringify({ image: `images/${s.file}`, caption: c }));
  }
  rng.shuffle(capLines);
  const cap = new Lines(join(o.out, 'captions.jsonl'));
  for (const l of capLines) cap.write(l);
  await cap.close();

  const inter = new Lines(join(o.out, 'interleaved.jsonl'));
  for (let d = 0; d < nDocs; d++) {
    // 2..16 images, skewed towards short documents
    const k = Math.min(train.length, 2 + Math.floor(rng.float() ** 2 * 15));
    if (k < 2) break;
    const picked: Scene[] = [];
    for (let i = 0; i < k; i++) picked.push(train[rng.int(0, train.length - 1)]!);
    inter.write(JSON.stringify({ items: interleavedDoc(picked, rng, 'images') }));
  }
  await inter.close();

  const text = new Lines(join(o.out, 'text.txt'));
  for (let d = 0; d < nText; d++) { if (d > 0) text.write(''); text.write(textDoc(rng, size)); }
  await text.close();

  const scenesOut = new Lines(join(o.out, 'scenes.jsonl'));
  for (const s of train) scenesOut.write(JSON.stringify(s));
  await scenesOut.close();

  const evalSum = writeEval(o.out, '', evalScenes, rng);
  const poolSum = writeEval(o.out, 'pool_', pool, rng);
  writeEvalText(o.out, seed, Math.max(20, Math.floor(nText / 20)), size);
  writeFileSync(join(o.out, 'eval', 'scenes.json'), JSON.stringify([...evalScenes, ...pool]));
  const summary: SynthSummary = {
    out: o.out, seed, size,
    train: { images: nTrain, captions: cap.count, interleaved: inter.count, textDocs: nText },
    eval: { images: nEval, ...evalSum }, pool: { images: nPool, ...poolSum },
  };
  writeFileSync(join(o.out, 'synth.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

/**
 * eval/text.jsonl: held-out text-only documents for `mm eval`'s perplexity, from a stream of their own (so the
 * training files are the same with or without it).
 */
export function writeEvalText(out: string, seed: number, n: number, size: number): void {
  const rng = new Rng((seed * 131 + 0x5eed) >>> 0);
  writeFileSync(join(out, 'eval', 'text.jsonl'), Array.from({ length: n }, () => JSON.stringify({ text: textDoc(rng, size) })).join('\n') + '\n');
}

/** COCO caption and official VQA files for one held-out split; file_name is relative to eval/. */
function writeEval(out: string, prefix: string, scenes: Scene[], rng: Rng): { captions: number; questions: number } {
  const images = scenes.map((s) => ({ id: s.id, file_name: `images/${s.file}`, width: s.size, height: s.size }));
  const annotations: { id: number; image_id: number; caption: string }[] = [];
  const questions: { question_id: number; image_id: number; question: string }[] = [];
  const answers: { question_id: number; image_id: number; question_type: string; answer_type: string; multiple_choice_answer: string; answers: { answer: string; answer_confidence: string; answer_id: number }[] }[] = [];
  for (const s of scenes) {
    for (const c of captions(s, rng)) annotations.push({ id: annotations.length + 1, image_id: s.id, caption: c });
    vqa(s, rng).forEach((q, k) => {
      const qid = s.id * 10 + k;
      questions.push({ question_id: qid, image_id: s.id, question: q.question });
      answers.push({
        question_id: qid, image_id: s.id, question_type: q.type,
        answer_type: q.type === 'yes/no' ? 'yes/no' : q.type === 'count' ? 'number' : 'other',
        multiple_choice_answer: q.answer,
        // ten annotators agreeing: the world has one right answer
        answers: Array.from({ length: 10 }, (_, i) => ({ answer: q.answer, answer_confidence: 'yes', answer_id: i + 1 })),
      });
    });
  }
  const info = { description: 'mm synthetic world', version: '1' };
  const w = (name: string, obj: unknown) => writeFileSync(join(out, 'eval', `${prefix}${name}.json`), JSON.stringify(obj));
  w('captions', { info, images, annotations, type: 'captions' });
  w('vqa_questions', { info, task_type: 'Open-Ended', data_type: 'synthetic', questions });
  w('vqa_annotations', { info, data_type: 'synthetic', annotations: answers });
  return { captions: annotations.length, questions: questions.length };
}
