// The synthetic world: scenes of coloured shapes, and everything said about them (captions, VQA pairs,
// interleaved documents, text-only documents). Every statement is computed from the scene description, with
// the geometric predicates below (relations, positions) as the single definition of truth.
import type { Rng } from './rng.js';
import { Canvas, type RGB, type Shape } from './raster.js';

export const COLORS: Record<string, RGB> = {
  red: [220, 40, 40], green: [40, 180, 60], blue: [50, 90, 235], yellow: [240, 215, 40], purple: [150, 60, 205],
};
export const COLOR_NAMES = Object.keys(COLORS);
export const SHAPES: Shape[] = ['circle', 'square', 'triangle'];
export const BACKGROUND: RGB = [40, 40, 40];
export const WORDS = ['cat', 'dog', 'sun', 'map', 'box', 'red', 'big', 'top'];
export const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six'];
export const ORDINALS = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth',
  'eleventh', 'twelfth', 'thirteenth', 'fourteenth', 'fifteenth', 'sixteenth'];

export interface Obj { shape: Shape; color: string; size: 'small' | 'large'; x: number; y: number; r: number }
export interface Scene { id: number; file: string; size: number; objects: Obj[]; word?: string }
export type Rel = 'above' | 'below' | 'left of' | 'right of';
export interface QA { question: string; answer: string; type: 'color' | 'shape' | 'count' | 'yes/no' | 'relation' | 'text' }

const INVERSE: Record<Rel, Rel> = { above: 'below', below: 'above', 'left of': 'right of', 'right of': 'left of' };
export const inverse = (r: Rel): Rel => INVERSE[r];

/** Where a is relative to b, only when one axis clearly dominates (else no relation is ever stated). */
export function relation(a: Obj, b: Obj, size: number): Rel | null {
  const dx = b.x - a.x, dy = b.y - a.y, m = 0.1 * size;
  if (Math.abs(dx) >= Math.abs(dy) + m) return dx > 0 ? 'left of' : 'right of';
  if (Math.abs(dy) >= Math.abs(dx) + m) return dy > 0 ? 'above' : 'below';
  return null;
}

/** Position phrase of a lone object, or null when it is in no clear region. */
export function position(o: Obj, size: number): string | null {
  const h = o.x < 0.38 * size ? 'left' : o.x > 0.62 * size ? 'right' : null;
  const v = o.y < 0.38 * size ? 'top' : o.y > 0.62 * size ? 'bottom' : null;
  if (h && v) return `in the ${v} ${h}`;
  if (h) return `on the ${h}`;
  if (v) return `at the ${v}`;
  const c = (t: number) => Math.abs(t - size / 2) < 0.08 * size;
  return c(o.x) && c(o.y) ? 'in the middle' : null;
}

export const plural = (s: string) => s + 's';
const desc = (o: Obj) => `${o.color} ${o.shape}`;

export function makeScene(rng: Rng, id: number, size: number, opts: { words?: boolean; prefix?: string } = {}): Scene {
  const n = rng.pick([1, 1, 2, 2, 2, 3, 3, 4]);
  const objects: Obj[] = [];
  const textBand = opts.words ? 0.22 * size : 0;
  for (let tries = 0; objects.length < n && tries < 200; tries++) {
    const big = rng.bool();
    const r = (big ? 0.17 : 0.11) * size;
    const x = r + 1 + rng.float() * (size - 2 * r - 2);
    const y = r + 1 + rng.float() * (size - 2 * r - 2 - textBand);
    // keep shapes apart (gap ≥ 0.06·size) so counts are unambiguous after downsizing
    if (objects.some((o) => Math.hypot(o.x - x, o.y - y) < o.r * 1.42 + r * 1.42 + 0.06 * size)) continue;
    objects.push({ shape: rng.pick(SHAPES), color: rng.pick(COLOR_NAMES), size: big ? 'large' : 'small', x, y, r });
  }
  const scene: Scene = { id, file: `${opts.prefix ?? ''}${String(id).padStart(6, '0')}.png`, size, objects };
  if (opts.words) scene.word = rng.pick(WORDS);
  return scene;
}

export function render(scene: Scene): Buffer {
  const c = new Canvas(scene.size, scene.size, BACKGROUND);
  for (const o of scene.objects) c.fill(o.shape, o.x, o.y, o.r, COLORS[o.color]!);
  if (scene.word) {
    const scale = Math.max(1, Math.floor(scene.size / 32));
    c.text(scene.word, Math.round(scene.size / 2 - (scene.word.length * 4 * scale) / 2), scene.size - 6 * scale, scale, [255, 255, 255]);
  }
  return c.png();
}

/** "two red circles and a blue square": every object, grouped by colour and shape, in first-seen order. */
export function groupList(objs: Obj[]): string {
  const groups = new Map<string, number>();
  for (const o of objs) groups.set(desc(o), (groups.get(desc(o)) ?? 0) + 1);
  const parts = [...groups].map(([d, k]) => {
    const [c, s] = d.split(' ');
    return k === 1 ? `a ${d}` : `${NUMBER_WORDS[k]} ${c} ${plural(s!)}`;
  });
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

const unique = (objs: Obj[], o: Obj) => objs.filter((p) => p.color === o.color && p.shape === o.shape).length === 1;

/** Pairs of uniquely described objects with a clear relation, a before b. */
export function relPairs(s: Scene): { a: Obj; b: Obj; rel: Rel }[] {
  const out: { a: Obj; b: Obj; rel: Rel }[] = [];
  for (const a of s.objects) for (const b of s.objects) {
    if (a === b || !unique(s.objects, a) || !unique(s.objects, b) || desc(a) === desc(b)) continue;
    const rel = relation(a, b, s.size);
    if (rel) out.push({ a, b, rel });
  }
  return out;
}

/** Several true phrasings of the scene (the CIDEr references). */
export function captions(s: Scene, rng: Rng): string[] {
  const objs = s.objects, n = objs.length, out: string[] = [];
  const list = groupList(objs);
  if (n === 1) {
    const o = objs[0]!, pos = position(o, s.size);
    out.push(`a ${desc(o)}`, `a ${o.size} ${desc(o)}`, `one ${desc(o)}`, `a picture of a ${desc(o)}`);
    if (pos) out.push(`a ${desc(o)} ${pos}`);
  } else {
    out.push(list, `${NUMBER_WORDS[n]} shapes: ${list}`, `a picture of ${list}`);
    const pairs = relPairs(s);
    if (pairs.length) {
      const p = rng.pick(pairs);
      out.push(`a ${desc(p.a)} ${p.rel} a ${desc(p.b)}`, `a ${desc(p.b)} ${inverse(p.rel)} a ${desc(p.a)}`);
    }
    if (out.length < 5) out.push(`${NUMBER_WORDS[n]} shapes`);
  }
  if (s.word) out.push(`${out[0]} and the word ${s.word}`);
  return [...new Set(out)];
}

/** Question-answer pairs, each true of the scene; yes/no questions are balanced between yes and no. */
export function vqa(s: Scene, rng: Rng): QA[] {
  const objs = s.objects, out: QA[] = [];
  const byShape = (sh: string) => objs.filter((o) => o.shape === sh);
  const byColor = (c: string) => objs.filter((o) => o.color === c);
  const shapesHere = SHAPES.filter((sh) => byShape(sh).length === 1);
  if (shapesHere.length) { const sh = rng.pick(shapesHere); out.push({ question: `what color is the ${sh}?`, answer: byShape(sh)[0]!.color, type: 'color' }); }
  const colorsHere = COLOR_NAMES.filter((c) => byColor(c).length === 1);
  if (colorsHere.length) { const c = rng.pick(colorsHere); out.push({ question: `what shape is the ${c} object?`, answer: byColor(c)[0]!.shape, type: 'shape' }); }
  const sh = rng.pick(SHAPES);
  out.push({ question: `how many ${plural(sh)} are there?`, answer: String(byShape(sh).length), type: 'count' });
  out.push({ question: 'how many shapes are there?', answer: String(objs.length), type: 'count' });
  if (rng.bool()) {
    const o = rng.pick(objs);
    out.push({ question: `is there a ${desc(o)}?`, answer: 'yes', type: 'yes/no' });
  } else {
    const absent: string[] = [];
    for (const c of COLOR_NAMES) for (const x of SHAPES) if (!objs.some((o) => o.color === c && o.shape === x)) absent.push(`${c} ${x}`);
    out.push({ question: `is there a ${rng.pick(absent)}?`, answer: 'no', type: 'yes/no' });
  }
  const pairs = relPairs(s);
  if (pairs.length) {
    const p = rng.pick(pairs), yes = rng.bool();
    out.push({ question: `is the ${desc(p.a)} ${yes ? p.rel : inverse(p.rel)} the ${desc(p.b)}?`, answer: yes ? 'yes' : 'no', type: 'yes/no' });
    // "what shape is above the X?" only when exactly one object stands in that relation to X
    const others = objs.filter((o) => o !== p.b && relation(o, p.b, s.size) === p.rel);
    if (others.length === 1) out.push({ question: `what shape is ${p.rel} the ${desc(p.b)}?`, answer: p.a.shape, type: 'relation' });
  }
  if (s.word) out.push({ question: 'what word is written?', answer: s.word, type: 'text' });
  return out;
}

export type Item = { image: string } | { text: string };

/** An interleaved document over 2–16 scenes whose text refers across images. */
export function interleavedDoc(scenes: Scene[], rng: Rng, imageDir: string): Item[] {
  const style = rng.pick(['plain', 'ordinal', 'output', 'qa'] as const);
  const items: Item[] = [];
  if (rng.bool(0.3)) items.push({ text: `here are ${scenes.length} pictures.` });
  scenes.forEach((s, i) => {
    items.push({ image: `${imageDir}/${s.file}` });
    const cap = rng.pick(captions(s, rng));
    if (style === 'plain') items.push({ text: `${cap}.` });
    else if (style === 'ordinal') items.push({ text: `the ${ORDINALS[i]} image shows ${cap}.` });
    else if (style === 'output') items.push({ text: `Output: ${cap}` });
    else { const q = rng.pick(vqa(s, rng)); items.push({ text: `Question: ${q.question} Short answer: ${q.answer}` }); }
  });
  items.push({ text: crossRefs(scenes, rng).join(' ') });
  return items;
}

/** Statements that need more than one image: comparisons, totals, "the third image shows ...". */
export function crossRefs(scenes: Scene[], rng: Rng): string[] {
  const out: string[] = [];
  const k = scenes.length, i = rng.int(0, k - 1);
  let j = rng.int(0, k - 2);
  if (j >= i) j++;
  const ni = scenes[i]!.objects.length, nj = scenes[j]!.objects.length;
  const cmp = ni > nj ? 'more shapes than' : ni < nj ? 'fewer shapes than' : 'as many shapes as';
  out.push(`the ${ORDINALS[i]} image has ${cmp} the ${ORDINALS[j]} image.`);
  out.push(`in total there are ${scenes.reduce((a, s) => a + s.objects.length, 0)} shapes.`);
  const t = rng.int(0, k - 1);
  out.push(`the ${ORDINALS[t]} image shows ${rng.pick(captions(scenes[t]!, rng))}.`);
  const o = rng.pick(scenes[i]!.objects);
  const also = scenes.map((s, x) => (s.objects.some((p) => p.color === o.color && p.shape === o.shape) ? x : -1)).filter((x) => x >= 0);
  if (also.length === k) out.push(`every image shows a ${desc(o)}.`);
  else if (also.length > 1) out.push(`a ${desc(o)} appears in ${NUMBER_WORDS[also.length] ?? also.length} images.`);
  else out.push(`only the ${ORDINALS[i]} image shows a ${desc(o)}.`);
  return out;
}

const FACTS = [
  'a square has four corners.', 'a triangle has three corners.', 'a circle has no corners.',
  'a square has four sides of the same length.', 'a triangle has three sides.', 'a circle is round.',
  'red, green, blue, yellow and purple are colors.', 'circles, squares and triangles are shapes.',
  'above is the opposite of below.', 'left is the opposite of right.', 'two and two make four.',
  'one and two make three.', 'a large shape is bigger than a small shape.',
];

/** A text-only document from the same world: scenes described in words, facts, and questions answered. */
export function textDoc(rng: Rng, size: number): string {
  const parts: string[] = [];
  const k = rng.int(2, 5);
  for (let i = 0; i < k; i++) {
    const s = makeScene(rng, 0, size);
    const caps = captions(s, rng);
    parts.push(`picture ${NUMBER_WORDS[i + 1]} shows ${rng.pick(caps)}.`);
    const q = rng.pick(vqa(s, rng));
    parts.push(`Question: ${q.question} Short answer: ${q.answer}`);
  }
  parts.push(rng.pick(FACTS));
  return parts.join(' ');
}
