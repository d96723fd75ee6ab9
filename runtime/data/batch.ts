// The batch contract between the data mixer (runtime/data) and the lowered model (compiler/lower): the names,
// shapes and meaning of the graph inputs one micro-batch fills. B sequences of T tokens, with room for
// NI = B · maxImages images of R×R px, each becoming M connector tokens.

import type { Engine } from '../engine.js';

export interface Batch {
  B: number;
  T: number;
  tokens: Int32Array;      // [B, T]  token ids; `<image>` id at image positions (their embedding is replaced)
  targets: Int32Array;     // [B, T]  next-token ids; -1 where no loss (image positions, padding, doc ends)
  segments: Int32Array;    // [B, T]  packed-document id within the row (0, 1, ...); -1 for padding
  imageMask: Float32Array; // [B, T]  1 at positions that hold a visual token, else 0
  images: Float32Array;    // [NI, 3, R, R] CLIP-normalised pixels; unused slots are zeros
  imageSlots: Int32Array;  // [NI, M]  flat position b·T + t of each visual token; -1 for an unused image slot
  numImages: number;       // images actually present (≤ NI)
  sources: string[];       // per row: 'captions' | 'interleaved' | 'text' (for the mix statistics)
}

/** Graph input names the lowering declares and the trainer feeds (positions = 0..T-1 for RoPE). */
export const BATCH_INPUTS = ['tokens', 'targets', 'segments', 'image_mask', 'images', 'image_slots', 'positions'] as const;

/** Feeds one micro-batch to the engine (inputs the graph does not read are skipped). */
export function feedBatch(engine: Engine, b: Batch): void {
  const put = (name: string, data: Float32Array | Int32Array) => { if (engine.hasInput(name)) engine.setInput(name, data); };
  put('tokens', b.tokens);
  put('targets', b.targets);
  put('segments', b.segments);
  put('image_mask', b.imageMask);
  put('images', b.images);
  put('image_slots', b.imageSlots);
  put('positions', Int32Array.from({ length: b.T }, (_, i) => i));
}
