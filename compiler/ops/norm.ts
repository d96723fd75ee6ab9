// Normalisations: layernorm (last axis), layernorm2d (channel axis 1 of NCHW), rmsnorm (last axis), with
// dedicated backward ops that recompute the row statistics from x (cheap; nothing saved but x):
//   *_grad_x (x, w, dy) → dx      *_grad_w (x, dy) → dw = Σ_rows dy·x̂      (db = sum(dy) over non-norm axes)
// One implementation serves both layernorms, parameterised by the normalised axis.

import type { Node } from '../ir/node.js';
import type { Graph } from '../ir/graph.js';
import { defineOp, type RefTensor } from './registry.js';
import { axisRows } from './util.js';

type Kind = 'ln' | 'rms';

/** Per row of `axis`: the normalised values x̂ (same layout as x) and 1/σ per row. */
function normalise(x: RefTensor, axis: number, kind: Kind, eps: number): { xh: Float64Array; rstd: Float64Array } {
  const { rows, n, stride, base } = axisRows(x.shape, axis);
  const xh = new Float64Array(x.data.length), rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = base(r);
    let mean = 0;
    if (kind === 'ln') { for (let i = 0; i < n; i++) mean += x.data[o + i * stride]!; mean /= n; }
    let v = 0;
    for (let i = 0; i < n; i++) { const d = x.data[o + i * stride]! - mean; v += d * d; }
    const rs = 1 / Math.sqrt(v / n + eps);
    rstd[r] = rs;
    for (let i = 0; i < n; i++) xh[o + i * stride] = (x.data[o + i * stride]! - mean) * rs;
  }
  return { xh, rstd };
}

function forward(x: RefTensor, w: RefTensor, b: RefTensor | undefined, axis: number, kind: Kind, eps: number): Float64Array {
  const { xh } = normalise(x, axis, kind, eps);
  const { rows, n, stride, base } = axisRows(x.shape, axis);
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) {
    const o = base(r) + i * stride;
    xh[o] = xh[o]! * w.data[i]! + (b ? b.data[i]! : 0);
  }
  return xh;
}

/** dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·w (layernorm); rmsnorm drops the mean(ĝ) term. */
function gradX(x: RefTensor, w: RefTensor, dy: RefTensor, axis: number, kind: Kind, eps: number): Float64Array {
  const { xh, rstd } = normalise(x, axis, kind, eps);
  const { rows, n, stride, base } = axisRows(x.shape, axis);
  const dx = new Float64Array(x.data.length);
  for (let r = 0; r < rows; r++) {
    const o = base(r);
    let mg = 0, mgx = 0;
    for (let i = 0; i < n; i++) { const gh = dy.data[o + i * stride]! * w.data[i]!; mg += gh; mgx += gh * xh[o + i * stride]!; }
    mg /= n; mgx /= n;
    if (kind === 'rms') mg = 0;
    for (let i = 0; i < n; i++) {
      const k = o + i * stride;
      dx[k] = rstd[r]! * (dy.data[k]! * w.data[i]! - mg - xh[k]! * mgx);
    }
  }
  return dx;
}

function gradW(x: RefTensor, dy: RefTensor, axis: number, kind: Kind, eps: number): Float64Array {
  const { xh } = normalise(x, axis, kind, eps);
  const { rows, n, stride, base } = axisRows(x.shape, axis);
  const dw = new Float64Array(n);
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) { const k = base(r) + i * stride; dw[i]! += dy.data[k]! * xh[k]!; }
  return dw;
}

interface Family { name: string; kind: Kind; axis: (rank: number) => number; minRank: number; hasBias: boolean; dfltEps: number }

function family(f: Family): void {
  const ax = (n: { shape: readonly number[] }): number => f.axis(n.shape.length);
  const eps = (a: Readonly<Record<string, unknown>>): number => (typeof a.eps === 'number' ? a.eps : f.dfltEps);
  const checkX = (x: Node | undefined): string | null => (!x || x.shape.length < f.minRank ? `${f.name} input needs rank >= ${f.minRank}` : null);
  const checkVec = (x: Node, v: Node | undefined, what: string): string | null =>
    (!v || v.shape.length !== 1 || v.shape[0] !== x.shape[ax(x)] ? `${what} must be [${x.shape[ax(x)]}]` : null);

  defineOp({
    name: f.name, kind: 'composite',
    infer: (ins) => {
      if (ins.length !== (f.hasBias ? 3 : 2)) return `${f.name} takes (x, w${f.hasBias ? ', b' : ''})`;
      const e = checkX(ins[0]) ?? checkVec(ins[0]!, ins[1], 'w') ?? (f.hasBias ? checkVec(ins[0]!, ins[2], 'b') : null);
      return e ?? { shape: ins[0]!.shape, dtype: ins[0]!.dtype };
    },
    ref: ([x, w, b], a) => forward(x!, w!, b, ax(x!), f.kind, eps(a)),
    vjp: (g: Graph, node, gy, needs) => {
      const [x, w] = node.inputs as [Node, Node];
      const attrs = { eps: node.attrs.eps as number | undefined };
      const other = x.shape.map((_, i) => i).filter((i) => i !== ax(x));
      const out: (Node | null)[] = [
        needs?.[0] === false ? null : g.op(`${f.name}_grad_x`, [x, w, gy], attrs),
        needs?.[1] === false ? null : g.op(`${f.name}_grad_w`, [x, gy], attrs),
      ];
      if (f.hasBias) out.push(needs?.[2] === false ? null : g.sum(gy, other, false));
      return out;
    },
  });

  defineOp({
    name: `${f.name}_grad_x`, kind: 'composite',
    infer: ([x, w, dy, ...rest]) => {
      if (!x || !w || !dy || rest.length) return `${f.name}_grad_x takes (x, w, dy)`;
      const e = checkX(x) ?? checkVec(x, w, 'w');
      if (e) return e;
      if (dy.shape.join() !== x.shape.join()) return 'dy must have the shape of x';
      return { shape: x.shape, dtype: dy.dtype };
    },
    ref: ([x, w, dy], a) => gradX(x!, w!, dy!, ax(x!), f.kind, eps(a)),
  });

  defineOp({
    name: `${f.name}_grad_w`, kind: 'composite',
    infer: ([x, dy, ...rest]) => {
      if (!x || !dy || rest.length) return `${f.name}_grad_w takes (x, dy)`;
      const e = checkX(x);
      if (e) return e;
      if (dy.shape.join() !== x.shape.join()) return 'dy must have the shape of x';
      return { shape: [x.shape[ax(x)]!], dtype: dy.dtype };
    },
    ref: ([x, dy], a) => gradW(x!, dy!, ax(x!), f.kind, eps(a)),
  });
}

family({ name: 'layernorm', kind: 'ln', axis: (r) => r - 1, minRank: 1, hasBias: true, dfltEps: 1e-5 });
family({ name: 'layernorm2d', kind: 'ln', axis: () => 1, minRank: 4, hasBias: true, dfltEps: 1e-6 });
family({ name: 'rmsnorm', kind: 'rms', axis: (r) => r - 1, minRank: 1, hasBias: false, dfltEps: 1e-5 });

