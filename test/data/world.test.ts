// The synthetic world: every caption, VQA answer and interleaved cross-reference is checked against the scene
// description by an independent parser of the phrasings (geometry re-derived here, not imported), plus the
// output layout, the COCO / VQA file formats and determinism by seed.
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synth } from '../../runtime/data/synth.js';

interface Obj { shape: string; color: string; size: string; x: number; y: number; r: number }
interface Scene { id: number; file: string; size: number; objects: Obj[]; word?: string }

const NUM: Record<string, number> = { a: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6 };
const ORD = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth', 'eleventh', 'twelfth', 'thirteenth', 'fourteenth', 'fifteenth', 'sixteenth'];
const COLORS = ['red', 'green', 'blue', 'yellow', 'purple'];
const SHAPES = ['circle', 'square', 'triangle'];

// the world's documented geometry: a relation holds when one axis dominates by 10% of the image
function rel(a: Obj, b: Obj, S: number): string | null {
  const dx = b.x - a.x, dy = b.y - a.y;
  if (Math.abs(dx) >= Math.abs(dy) + 0.1 * S) return dx > 0 ? 'left of' : 'right of';
  if (Math.abs(dy) >= Math.abs(dx) + 0.1 * S) return dy > 0 ? 'above' : 'below';
  return null;
}
function pos(o: Obj, S: number): string | null {
  const h = o.x < 0.38 * S ? 'left' : o.x > 0.62 * S ? 'right' : null;
  const v = o.y < 0.38 * S ? 'top' : o.y > 0.62 * S ? 'bottom' : null;
  if (h && v) return `in the ${v} ${h}`;
  if (h) return `on the ${h}`;
  if (v) return `at the ${v}`;
  return Math.abs(o.x - S / 2) < 0.08 * S && Math.abs(o.y - S / 2) < 0.08 * S ? 'in the middle' : null;
}
const matching = (s: Scene, color: string, shape: string) => s.objects.filter((o) => o.color === color && o.shape === shape);
const theOne = (s: Scene, color: string, shape: string) => { const m = matching(s, color, shape); return m.length === 1 ? m[0]! : null; };

/** Is this caption true of the scene? Throws on a phrasing the parser does not know. */
function captionTrue(s: Scene, cap: string): boolean {
  let m: RegExpMatchArray | null;
  if (s.word && cap.endsWith(` and the word ${s.word}`)) return captionTrue({ ...s, word: undefined }, cap.slice(0, -` and the word ${s.word}`.length));
  cap = cap.replace(/^a picture of /, '');
  if ((m = cap.match(/^a (\w+) (\w+) (above|below|left of|right of) a (\w+) (\w+)$/))) {
    const a = theOne(s, m[1]!, m[2]!), b = theOne(s, m[4]!, m[5]!);
    return !!a && !!b && rel(a, b, s.size) === m[3];
  }
  if ((m = cap.match(/^(\w+) shapes(?:: (.*))?$/))) return NUM[m[1]!] === s.objects.length && (m[2] === undefined || captionTrue(s, m[2]));
  // a single object with size and/or position
  if ((m = cap.match(/^(a|one) (?:(small|large) )?(\w+) (circle|square|triangle)(?: (on the \w+|at the \w+|in the \w+ \w+|in the middle))?$/))) {
    if (s.objects.length !== 1) return false;
    const o = s.objects[0]!;
    return o.color === m[3] && o.shape === m[4] && (!m[2] || o.size === m[2]) && (!m[5] || pos(o, s.size) === m[5]);
  }
  // an exhaustive list of groups: "two red circles, a blue square and a green triangle"
  const groups = cap.split(/, | and /);
  const want = new Map<string, number>();
  for (const g of groups) {
    const gm = g.match(/^(a|one|two|three|four) (\w+) (circle|square|triangle)s?$/);
    if (!gm) throw new Error(`unknown phrasing: "${cap}"`);
    want.set(`${gm[2]} ${gm[3]}`, NUM[gm[1]!]!);
  }
  const have = new Map<string, number>();
  for (const o of s.objects) have.set(`${o.color} ${o.shape}`, (have.get(`${o.color} ${o.shape}`) ?? 0) + 1);
  return want.size === have.size && [...want].every(([k, n]) => have.get(k) === n);
}

/** The answer the scene gives to a question (independent of the generator). */
function answer(s: Scene, q: string): string {
  let m: RegExpMatchArray | null;
  if ((m = q.match(/^what color is the (\w+)\?$/))) { const os = s.objects.filter((o) => o.shape === m![1]); expect(os).toHaveLength(1); return os[0]!.color; }
  if ((m = q.match(/^what shape is the (\w+) object\?$/))) { const os = s.objects.filter((o) => o.color === m![1]); expect(os).toHaveLength(1); return os[0]!.shape; }
  if (q === 'how many shapes are there?') return String(s.objects.length);
  if ((m = q.match(/^how many (\w+)s are there\?$/))) return String(s.objects.filter((o) => o.shape === m![1]).length);
  if ((m = q.match(/^is there a (\w+) (\w+)\?$/))) return matching(s, m[1]!, m[2]!).length ? 'yes' : 'no';
  if ((m = q.match(/^is the (\w+) (\w+) (above|below|left of|right of) the (\w+) (\w+)\?$/))) {
    const a = theOne(s, m[1]!, m[2]!), b = theOne(s, m[4]!, m[5]!);
    expect(a && b).toBeTruthy();
    return rel(a!, b!, s.size) === m[3] ? 'yes' : 'no';
  }
  if ((m = q.match(/^what shape is (above|below|left of|right of) the (\w+) (\w+)\?$/))) {
    const b = theOne(s, m[2]!, m[3]!)!;
    const os = s.objects.filter((o) => o !== b && rel(o, b, s.size) === m![1]);
    expect(os).toHaveLength(1);
    return os[0]!.shape;
  }
  if (q === 'what word is written?') return s.word!;
  throw new Error(`unknown question: "${q}"`);
}

describe('synthetic world', () => {
  let dir: string;
  let scenes: Map<string, Scene>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mm-synth-'));
    await synth({ out: dir, seed: 3, images: 300, evalImages: 60, poolImages: 30, words: true });
    scenes = new Map();
    for (const l of readFileSync(join(dir, 'scenes.jsonl'), 'utf8').trim().split('\n')) { const s = JSON.parse(l) as Scene; scenes.set(`images/${s.file}`, s); }
  });

  it('writes the documented layout', () => {
    for (const f of ['captions.jsonl', 'interleaved.jsonl', 'text.txt', 'scenes.jsonl', 'synth.json', 'eval/captions.json', 'eval/vqa_questions.json',
      'eval/vqa_annotations.json', 'eval/pool_captions.json', 'eval/pool_vqa_questions.json', 'eval/pool_vqa_annotations.json', 'eval/scenes.json',
      'eval/text.jsonl']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(readdirSync(join(dir, 'images'))).toHaveLength(300);
    expect(readdirSync(join(dir, 'eval/images'))).toHaveLength(90);
  });

  it('every training caption is true of its scene', () => {
    const lines = readFileSync(join(dir, 'captions.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(300);
    for (const l of lines) {
      const { image, caption } = JSON.parse(l) as { image: string; caption: string };
      expect(captionTrue(scenes.get(image)!, caption), `${image}: ${caption}`).toBe(true);
    }
  });

  it('every eval reference and VQA answer is true, in the COCO and VQA formats', () => {
    const evalScenes = new Map((JSON.parse(readFileSync(join(dir, 'eval/scenes.json'), 'utf8')) as Scene[]).map((s) => [s.id, s]));
    for (const prefix of ['', 'pool_']) {
      const coco = JSON.parse(readFileSync(join(dir, `eval/${prefix}captions.json`), 'utf8'));
      const refs = new Map<number, number>();
      for (const a of coco.annotations) { expect(captionTrue(evalScenes.get(a.image_id)!, a.caption), a.caption).toBe(true); refs.set(a.image_id, (refs.get(a.image_id) ?? 0) + 1); }
      for (const im of coco.images) { expect(existsSync(join(dir, 'eval', im.file_name))).toBe(true); expect(refs.get(im.id)).toBeGreaterThanOrEqual(3); }
      const qs = JSON.parse(readFileSync(join(dir, `eval/${prefix}vqa_questions.json`), 'utf8')).questions;
      const anns = new Map<number, { answers: { answer: string; answer_id: number }[] }>(
        JSON.parse(readFileSync(join(dir, `eval/${prefix}vqa_annotations.json`), 'utf8')).annotations.map((a: { question_id: number }) => [a.question_id, a]));
      const types = new Set<string>();
      for (const q of qs) {
        const a = anns.get(q.question_id)!;
        expect(a.answers).toHaveLength(10);
        expect(a.answers[0]!.answer).toBe(answer(evalScenes.get(q.image_id)!, q.question));
        types.add(q.question.split(' ').slice(0, 2).join(' '));
      }
      if (!prefix) for (const t of ['what color', 'what shape', 'how many', 'is there', 'is the', 'what word']) expect(types.has(t), t).toBe(true);
    }
  });

  it('interleaved documents hold 2–16 images and true cross-references', () => {
    const docs = readFileSync(join(dir, 'interleaved.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).items as ({ image: string } | { text: string })[]);
    let ordinals = 0;
    for (const items of docs) {
      const imgs = items.flatMap((i) => ('image' in i ? [scenes.get(i.image)!] : []));
      expect(imgs.length).toBeGreaterThanOrEqual(2);
      expect(imgs.length).toBeLessThanOrEqual(16);
      const text = items.flatMap((i) => ('text' in i ? [i.text] : [])).join(' ');
      for (const m of text.matchAll(/(?<!only )the (\w+) image shows ([^.]+)\./g)) { ordinals++; expect(captionTrue(imgs[ORD.indexOf(m[1]!)]!, m[2]!), m[0]).toBe(true); }
      for (const m of text.matchAll(/only the (\w+) image shows a (\w+) (\w+)\./g)) {
        expect(imgs.map((s, i) => (matching(s, m[2]!, m[3]!).length ? i : -1)).filter((i) => i >= 0)).toEqual([ORD.indexOf(m[1]!)]);
      }
      for (const m of text.matchAll(/every image shows a (\w+) (\w+)\./g)) expect(imgs.every((s) => matching(s, m[1]!, m[2]!).length > 0)).toBe(true);
      for (const m of text.matchAll(/in total there are (\d+) shapes/g)) expect(Number(m[1])).toBe(imgs.reduce((a, s) => a + s.objects.length, 0));
      for (const m of text.matchAll(/the (\w+) image has (more shapes than|fewer shapes than|as many shapes as) the (\w+) image/g)) {
        const a = imgs[ORD.indexOf(m[1]!)]!.objects.length, b = imgs[ORD.indexOf(m[3]!)]!.objects.length;
        expect(m[2]).toBe(a > b ? 'more shapes than' : a < b ? 'fewer shapes than' : 'as many shapes as');
      }
      for (const m of text.matchAll(/a (\w+) (\w+) appears in (\w+) images/g)) expect(imgs.filter((s) => matching(s, m[1]!, m[2]!).length).length).toBe(NUM[m[3]!]);
      for (const m of text.matchAll(/Question: ([^?]+\?) Short answer: (\w+)/g)) {
        // which image a question belongs to is the image just before it: check it is true of one of them
        expect(imgs.some((s) => { try { return answer(s, m[1]!) === m[2]; } catch { return false; } }), m[0]).toBe(true);
      }
    }
    expect(ordinals).toBeGreaterThan(10);
  });

  it('text-only documents come from the same world', () => {
    const text = readFileSync(join(dir, 'text.txt'), 'utf8');
    const docs = text.split(/\n\s*\n/);
    expect(docs.length).toBeGreaterThan(10);
    for (const c of COLORS) expect(text).toContain(c);
    for (const s of SHAPES) expect(text).toContain(s);
  });

  it('held-out text documents: 20 or more, from the same world, none a training document', () => {
    const train = new Set(readFileSync(join(dir, 'text.txt'), 'utf8').split(/\n\s*\n/).map((d) => d.trim()));
    const held = readFileSync(join(dir, 'eval/text.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
    expect(held.length).toBeGreaterThanOrEqual(20);
    for (const d of held) { expect(train.has(d.trim())).toBe(false); expect(d).toMatch(/picture|color|shape/); }
  });

  it('is deterministic by seed', async () => {
    const hash = (d: string) => createHash('sha256').update(readFileSync(join(d, 'captions.jsonl'))).update(readFileSync(join(d, 'images', 't000007.png')))
      .update(readFileSync(join(d, 'eval/vqa_annotations.json'))).update(readFileSync(join(d, 'interleaved.jsonl'))).digest('hex');
    const a = mkdtempSync(join(tmpdir(), 'mm-synth-')), b = mkdtempSync(join(tmpdir(), 'mm-synth-'));
    await synth({ out: a, seed: 5, images: 40, evalImages: 5, poolImages: 5 });
    await synth({ out: b, seed: 5, images: 40, evalImages: 5, poolImages: 5 });
    expect(hash(a)).toBe(hash(b));
    const c = mkdtempSync(join(tmpdir(), 'mm-synth-'));
    await synth({ out: c, seed: 6, images: 40, evalImages: 5, poolImages: 5 });
    expect(hash(c)).not.toBe(hash(a));
  });
});
