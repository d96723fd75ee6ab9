// Batched matmul: [..., M, K] × [..., K, N] → [..., M, N] with broadcast batch dims; transA/transB read
// the last two axes transposed, so the VJP never materialises a transpose. A rank-2 weight against a
// batched activation gets its gradient as one flattened [rows, K]ᵀ × [rows, N] product.

import type { Node } from '../ir/node.js';
import { numel } from '../ir/node.js';
import { defineOp } from './registry.js';
import { bool, broadcastMap, broadcastShapes, resultDtype, unbroadcast } from './util.js';

function dims(n: { shape: readonly number[] }, trans: boolean): [number, number] {
  const r = n.shape.length;
  const a = n.shape[r - 2]!, b = n.shape[r - 1]!;
  return trans ? [b, a] : [a, b];
}

defineOp({
  name: 'matmul', kind: 'matmul',
  infer: (ins, attrs) => {
    if (ins.length !== 2) return 'matmul takes 2 inputs';
    const [a, b] = ins as [Node, Node];
    if (a.shape.length < 2 || b.shape.length < 2) return 'matmul inputs need rank >= 2';
    const [m, k] = dims(a, bool(attrs, 'transA'));
    const [k2, n] = dims(b, bool(attrs, 'transB'));
    if (k !== k2) return `contraction dims differ (${k} vs ${k2})`;
    const batch = broadcastShapes([a.shape.slice(0, -2), b.shape.slice(0, -2)]);
    if (typeof batch === 'string') return `batch ${batch}`;
    return { shape: [...batch, m, n], dtype: resultDtype(ins) };
  },
  ref: ([a, b], attrs, out) => {
    const tA = bool(attrs, 'transA'), tB = bool(attrs, 'transB');
    const [m, k] = dims(a!, tA);
    const [, n] = dims(b!, tB);
    const batch = out.shape.slice(0, -2);
    // Batch offsets (in matrices) of a and b for each output batch index.
    const ma = broadcastMap(a!.shape.slice(0, -2), batch), mb = broadcastMap(b!.shape.slice(0, -2), batch);
    const r = new Float64Array(numel(out.shape));
    for (let bi = 0; bi < numel(batch); bi++) {
      const ao = ma[bi]! * m * k, bo = mb[bi]! * k * n, oo = bi * m * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) {
            const av = a!.data[ao + (tA ? p * m + i : i * k + p)]!;
            const bv = b!.data[bo + (tB ? j * k + p : p * n + j)]!;
            s += av * bv;
          }
          r[oo + i * n + j] = s;
        }
      }
    }
    return r;
  },
  vjp: (g, node, gy, needs) => {
    const [a, b] = node.inputs as [Node, Node];
    const tA = bool(node.attrs, 'transA'), tB = bool(node.attrs, 'transB');
    const mm = (x: Node, y: Node, transA: boolean, transB: boolean): Node => g.matmul(x, y, { transA, transB });
    // out = A·B with A = tA ? aᵀ : a, B = tB ? bᵀ : b;  dA = g·Bᵀ, dB = Aᵀ·g (then transposed back).
    let da: Node | null = null, db: Node | null = null;
    if (needs?.[0] !== false) {
      da = !tA ? mm(gy, b, false, !tB) : mm(b, gy, tB, true);
      da = unbroadcast(g, da, a.shape);
    }
    if (needs?.[1] !== false) {
      let x = a, y = gy;
      if (b.shape.length === 2 && a.shape.length > 2 && !tA) {
        // Weight gradient: fold all batch rows into one contraction ([rows, K]ᵀ × [rows, N]).
        x = g.reshape(a, [numel(a.shape) / a.shape[a.shape.length - 1]!, a.shape[a.shape.length - 1]!]);
        y = g.reshape(gy, [numel(gy.shape) / gy.shape[gy.shape.length - 1]!, gy.shape[gy.shape.length - 1]!]);
      }
      db = !tB ? mm(x, y, !tA, false) : mm(y, x, true, tA);
      db = unbroadcast(g, db, b.shape);
    }
    return [da, db];
  },
});
