// Does a model use its images? The held-out caption loss (nats per text token) with each image in its place,
// and again with the images of each batch rotated by one slot, so every caption sits after another image. The
// gap is how much the decoder relies on what it sees: 0 means it ignores its images. At the scale CI trains,
// this answers the question that decides everything else (docs/ablations.md), where CIDEr mostly measures
// the format of the text a model has learned.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lowerTrain } from '../../compiler/lower/index.js';
import { trainShape } from '../../compiler/compile.js';
import type { ResolvedSpec } from '../../compiler/semantics/spec.js';
import type { Graph } from '../../compiler/ir/graph.js';
import type { Engine } from '../engine.js';
import { feedBatch, type Batch } from '../data/batch.js';
import { Mixer, mixerOptionsFor } from '../data/mixer.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { CaptionExample } from './fewshot.js';

export interface Grounding {
  /** Mean held-out loss per text token with the right images. */
  loss: number;
  /** The same captions after the images were rotated across the batch's slots. */
  shuffledLoss: number;
  /** shuffledLoss − loss (nats per text token). */
  gap: number;
  /** Image-caption pairs scored. */
  pairs: number;
}

export interface GroundingOptions {
  /** Batches of the training shape to score (default 16; fewer when the pairs run out). */
  batches?: number;
  /** Builds an engine for the forward-and-loss graph (its output 'lm_loss' is read). */
  factory: (graph: Graph) => Promise<Engine>;
}

/** One (image, caption) pair per reference caption of each held-out image. */
export function captionPairs(cap: { queries: readonly CaptionExample[]; refs: ReadonlyMap<string, string[]> }): CaptionExample[] {
  return cap.queries.flatMap((q) => (cap.refs.get(String(q.id)) ?? [q.caption]).map((caption) => ({ id: q.id, image: q.image, caption })));
}

/** Images rotated by one slot: slot k gets image k+1 (mod the number present). */
export function rotateImages(b: Batch, pixelsPerImage: number): Float32Array {
  const n = b.numImages, out = new Float32Array(b.images.length);
  out.set(b.images.subarray(n * pixelsPerImage), n * pixelsPerImage);
  for (let k = 0; k < n; k++) out.set(b.images.subarray(((k + 1) % n) * pixelsPerImage, ((k + 1) % n + 1) * pixelsPerImage), k * pixelsPerImage);
  return out;
}

/**
 * The pairs reordered so that the same image never sits next to itself (an image's k-th caption comes in the
 * k-th round), else rotating a batch's images would mostly swap an image for itself.
 */
export function spreadImages<T extends { image: string }>(pairs: readonly T[]): T[] {
  const seen = new Map<string, number>();
  const round = pairs.map((p) => { const k = seen.get(p.image) ?? 0; seen.set(p.image, k + 1); return k; });
  return pairs.map((p, i) => ({ p, i })).sort((a, b) => round[a.i]! - round[b.i]! || a.i - b.i).map((x) => x.p);
}

/**
 * Scores `pairs` (one per reference caption: held-out images, never trained on) packed exactly as training
 * packs captions, with the checkpoint's weights. Needs a model with an image encoder and at least two images
 * per batch.
 */
export async function measureGrounding(spec: ResolvedSpec, weights: ReadonlyMap<string, Float32Array>, tok: Tokenizer,
  pairs: readonly CaptionExample[], opts: GroundingOptions): Promise<Grounding> {
  const enc = spec.model.encoder;
  if (!enc || !spec.model.connector) throw new Error(`model '${spec.model.name}' has no image encoder`);
  if (!spec.data || !spec.train) throw new Error('grounding needs the spec\'s data and train blocks (for the batch shape)');
  const capSrc = spec.data.sources.find((s) => s.kind === 'captions');
  pairs = spreadImages(pairs);
  // The pairs go through a captions source of their own, so packing and tokenisation match training.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-grounding-'));
  const file = path.join(dir, 'pairs.jsonl');
  // Data files may only name images inside their folder: link each image folder into the temporary one.
  const links = new Map<string, string>();
  const lines = pairs.map((p) => {
    const from = path.dirname(path.resolve(p.image));
    let link = links.get(from);
    if (!link) { link = `d${links.size}`; fs.symlinkSync(from, path.join(dir, link), 'dir'); links.set(from, link); }
    return JSON.stringify({ image: `${link}/${path.basename(p.image)}`, caption: p.caption });
  });
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const data = { ...spec.data, sources: [{ ...(capSrc ?? spec.data.sources[0]!), kind: 'captions' as const, path: file, weight: 1 }] };
  const scoring: ResolvedSpec = { ...spec, data };
  const shape = trainShape(scoring);
  if (shape.maxImages < 1) throw new Error('the training shape holds no images');
  const mixer = new Mixer(data, tok, mixerOptionsFor(scoring, { seed: 0, prefetch: false }));
  const engine = await opts.factory(lowerTrain(spec.model, shape).graph);
  try {
    for (const n of engine.leafNames('param')) {
      const w = weights.get(n);
      if (!w) throw new Error(`the checkpoint has no tensor '${n}'`);
      engine.setLeaf(n, w);
    }
    const px = 3 * enc.image * enc.image;
    // Pairs per batch is known only after packing; stop before the stream wraps to its start.
    const maxBatches = opts.batches ?? 16;
    let right = 0, shuffled = 0, seen = 0, batches = 0;
    while (batches < maxBatches) {
      const b = await mixer.next();
      if (b.numImages < 2) break;
      if (seen + b.numImages > pairs.length && batches > 0) break;
      feedBatch(engine, b);
      await engine.run();
      right += (await engine.readOutput('lm_loss'))[0]!;
      engine.setInput('images', rotateImages(b, px));
      await engine.run();
      shuffled += (await engine.readOutput('lm_loss'))[0]!;
      seen += b.numImages;
      batches++;
    }
    if (!batches) throw new Error('no batch with two or more images: give more held-out pairs');
    return { loss: right / batches, shuffledLoss: shuffled / batches, gap: (shuffled - right) / batches, pairs: seen };
  } finally {
    engine.dispose();
    await mixer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
