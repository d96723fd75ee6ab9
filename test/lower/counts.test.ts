// Parameter counts of lowered graphs equal the closed-form counts (tiny configs and MM1-sized ones; building
// a big graph allocates no data, so ViT-L/14 at 336 px and a 3B MoE decoder lower in milliseconds).

import { describe, expect, it } from 'vitest';
import '../../compiler/ops/index.js';
import { grad } from '../../compiler/autodiff/grad.js';
import { Graph } from '../../compiler/ir/graph.js';
import { verifyGraph } from '../../compiler/ir/verify.js';
import { numel } from '../../compiler/ir/node.js';
import { lowerDecode, lowerTrain, lowerVit } from '../../compiler/lower/index.js';
import type { ModelSpec } from '../../compiler/semantics/spec.js';
import { conn, countModel, countVit, dec, llm1b, llm3b, model, moe, vit, vitH14, vitL14 } from './specs.js';

const paramCount = (g: Graph): number => g.params().reduce((a, p) => a + numel(p.shape), 0);

describe('parameter counts', () => {
  const tiny: [string, ModelSpec][] = [
    ['text-only', model(dec())],
    ['text-only tied MoE top-1', model(dec({ tied: true, moe: moe({ topK: 1, every: 1 }) }))],
    ['linear', model(dec(), vit(), conn('linear'))],
    ['avg_pool', model(dec(), vit(), conn('avg_pool', { tokens: 1 }))],
    ['attn_pool', model(dec(), vit(), conn('attn_pool', { tokens: 3 }))],
    ['c_abstractor', model(dec({ moe: moe() }), vit({ image: 12, posRes: 8 }), conn('c_abstractor', { tokens: 4, depth: 2, hidden: 6 }))],
    ['c_abstractor hidden = width', model(dec(), vit(), conn('c_abstractor', { depth: 1, hidden: 8 }))],
    ['c_abstractor depth 0', model(dec(), vit(), conn('c_abstractor', { depth: 0 }))],
  ];
  for (const [name, m] of tiny) {
    it(`${name}: train and decode graphs match the closed form, verify, and differentiate`, () => {
      const t = lowerTrain(m, { B: 2, T: 8, maxImages: 1 });
      expect(paramCount(t.graph)).toBe(countModel(m));
      expect(verifyGraph(t.graph)).toEqual([]);
      const grads = grad(t.graph, t.loss, t.graph.params());
      for (const p of t.graph.params()) expect(grads.get(p)!.shape).toEqual(p.shape);
      const d = lowerDecode(m, { B: 2, Tn: 4, Tmax: 8, maxImages: 1 });
      expect(verifyGraph(d.graph)).toEqual([]);
      // Same names and shapes in both graphs, so one checkpoint loads into either.
      const shapes = (g: Graph): string[] => g.params().map((p) => `${p.name}:${p.shape.join('x')}`).sort();
      expect(shapes(d.graph)).toEqual(shapes(t.graph));
    });
  }

  it('decode may override the MoE capacity factor (experts → C ≥ N: nothing dropped)', () => {
    const m = model(dec({ moe: moe({ experts: 4, capacity: 1 }) }));
    const caps = (f?: number): number[] => lowerDecode(m, { B: 3, Tn: 2, Tmax: 8, maxImages: 0, ...(f ? { capacityFactor: f } : {}) })
      .graph.nodes.filter((n) => n.op === 'one_hot' && n.inputs[0]!.op === 'cast').map((n) => n.attrs.n as number);
    expect(new Set(caps())).toEqual(new Set([4]));          // ceil4(ceil(6 · 1 / 4))
    expect(new Set(caps(4))).toEqual(new Set([8]));         // ceil4(6)
  });

  it('ViT-L/14 at 336 px ≈ 303M', () => {
    const g = new Graph();
    const e = vitL14(336);
    lowerVit(g, e, g.input('images', [1, 3, 336, 336]));
    expect(paramCount(g)).toBe(countVit(e));
    expect(paramCount(g)).toBe(303_504_384);
  });

  it('MM1-sized models lower with the closed-form count', () => {
    const ms: ModelSpec[] = [
      model(llm1b(), vitL14(336), conn('c_abstractor', { tokens: 144, depth: 3, hidden: 1024 })),
      model(llm1b(), vitH14(378), conn('c_abstractor', { tokens: 144, depth: 3, hidden: 1024 })),
      model(llm1b(), vitL14(224), conn('attn_pool', { tokens: 64, heads: 16 })),
      model(llm1b(), vitL14(336), conn('avg_pool', { tokens: 144 })),
      model({ ...llm3b(), moe: moe({ experts: 64, every: 2 }) }, vitL14(378), conn('c_abstractor', { tokens: 144, depth: 3, hidden: 1024 })),
    ];
    for (const m of ms) {
      const t = lowerTrain(m, { B: 1, T: 64, maxImages: 1 });
      expect(paramCount(t.graph)).toBe(countModel(m));
    }
  });

  it('ViT-L/14 position embeddings made at 224 px resample to 336 px (table keeps 256 rows)', () => {
    const g = new Graph();
    const e = { ...vitL14(336), posRes: 224 };
    const x = lowerVit(g, e, g.input('images', [1, 3, 336, 336]));
    expect(x.shape).toEqual([1, 576, 1024]);
    expect(g.byName.get('encoder.pos_embed')!.shape).toEqual([256, 1024]);
    expect(paramCount(g)).toBe(countVit(e));
  });
});
