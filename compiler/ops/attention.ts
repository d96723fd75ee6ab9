// Scaled dot-product attention with grouped KV heads (query head h reads kv head ⌊h / (H/Hkv)⌋), packed-
// segment masks, causal masking by position (qOffset = Tk − Tq, or explicit qPos) and zero output for a
// query that sees no key. Backward ops, FlashAttention-style (probabilities recomputed, Δ = rowsum(dO·O)):
//   attention_grad_{q,k,v}(q, k, v, o, dO, [qSeg, kSeg], [qPos]) with the forward's attrs.

import type { Attrs, Node } from '../ir/node.js';
import { numel } from '../ir/node.js';
import { defineOp, type RefTensor } from './registry.js';
import { bool, isInt, num, sameShape } from './util.js';

interface Dims { B: number; H: number; Hkv: number; Tq: number; Tk: number; D: number }

/** Check q, k, v and the optional mask inputs starting at index `extra`. */
function check(ins: readonly Node[], a: Attrs, extra: number): Dims | string {
  const [q, k, v] = ins;
  const want = extra + (bool(a, 'hasSeg') ? 2 : 0) + (bool(a, 'hasPos') ? 1 : 0);
  if (!q || !k || !v || ins.length !== want) return `expected ${want} inputs (attrs hasSeg/hasPos)`;
  if (q.shape.length !== 4 || k.shape.length !== 4 || !sameShape(k.shape, v.shape)) return 'need q [B, H, Tq, D] and k, v [B, Hkv, Tk, D]';
  const [B, H, Tq, D] = q.shape as [number, number, number, number];
  const [Bk, Hkv, Tk, Dk] = k.shape as [number, number, number, number];
  if (B !== Bk || D !== Dk) return 'q and k differ in batch or head dim';
  if (Hkv < 1 || H % Hkv !== 0) return `query heads ${H} are not a multiple of kv heads ${Hkv}`;
  let i = extra;
  if (bool(a, 'hasSeg')) {
    const qs = ins[i++]!, ks = ins[i++]!;
    if (!isInt(qs.dtype) || !isInt(ks.dtype) || !sameShape(qs.shape, [B, Tq]) || !sameShape(ks.shape, [B, Tk])) return 'qSeg must be int [B, Tq] and kSeg int [B, Tk]';
  }
  if (bool(a, 'hasPos')) {
    const qp = ins[i++]!;
    if (!isInt(qp.dtype) || !sameShape(qp.shape, [Tq])) return 'qPos must be int [Tq]';
  }
  return { B, H, Hkv, Tq, Tk, D };
}

/** Everything the forward and backward references share: index helpers, the mask and the probabilities. */
function setup(ins: readonly RefTensor[], a: Attrs, extra: number) {
  const [q, k] = ins as [RefTensor, RefTensor];
  const [B, H, Tq, D] = q.shape as [number, number, number, number];
  const [, Hkv, Tk] = k.shape as [number, number, number];
  const rep = H / Hkv, scale = num(a, 'scale', 1 / Math.sqrt(D)), causal = bool(a, 'causal');
  let at = extra;
  const qSeg = bool(a, 'hasSeg') ? ins[at++]!.data : null, kSeg = qSeg ? ins[at++]!.data : null;
  const qPos = bool(a, 'hasPos') ? ins[at++]!.data : null;
  const qi = (b: number, h: number, i: number): number => ((b * H + h) * Tq + i) * D;            // q, o, dO rows
  const ki = (b: number, h: number, j: number): number => ((b * Hkv + Math.floor(h / rep)) * Tk + j) * D;  // k, v rows
  const visible = (b: number, i: number, j: number): boolean => {
    if (qSeg && kSeg && (kSeg[b * Tk + j]! < 0 || qSeg[b * Tq + i] !== kSeg[b * Tk + j])) return false;
    if (causal && j > (qPos ? qPos[i]! : i + Tk - Tq)) return false;
    return true;
  };
  /** Softmax over visible keys of query (b, h, i); all zeros when none is visible. */
  const probs = (b: number, h: number, i: number): Float64Array => {
    const s = new Float64Array(Tk).fill(-Infinity);
    let m = -Infinity;
    for (let j = 0; j < Tk; j++) {
      if (!visible(b, i, j)) continue;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q.data[qi(b, h, i) + d]! * k.data[ki(b, h, j) + d]!;
      s[j] = dot * scale;
      m = Math.max(m, s[j]!);
    }
    const p = new Float64Array(Tk);
    if (m === -Infinity) return p;
    let z = 0;
    for (let j = 0; j < Tk; j++) { p[j] = Math.exp(s[j]! - m); z += p[j]!; }
    return p.map((x) => x / z);
  };
  return { B, H, Hkv, Tq, Tk, D, scale, qi, ki, probs };
}

defineOp({
  name: 'attention', kind: 'composite',
  infer: (ins, a) => { const d = check(ins, a, 3); return typeof d === 'string' ? d : { shape: ins[0]!.shape, dtype: ins[0]!.dtype }; },
  ref: (ins, a, out) => {
    const v = ins[2]!;
    const { B, H, Tq, Tk, D, qi, ki, probs } = setup(ins, a, 3);
    const o = new Float64Array(numel(out.shape));                     // [B, H, Tq, D]
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < Tq; i++) {
      const p = probs(b, h, i);
      for (let j = 0; j < Tk; j++) {
        if (p[j] === 0) continue;
        for (let d = 0; d < D; d++) o[qi(b, h, i) + d]! += p[j]! * v.data[ki(b, h, j) + d]!;
      }
    }
    return o;
  },
  vjp: (g, node, gy, needs) => {
    const [q, k, v, ...masks] = node.inputs as Node[];
    const ins = [q!, k!, v!, node, gy, ...masks];
    const grad = (which: 'q' | 'k' | 'v', i: number): Node | null => (needs?.[i] === false ? null : g.op(`attention_grad_${which}`, ins, node.attrs));
    return [grad('q', 0), grad('k', 1), grad('v', 2), ...masks.map(() => null)];
  },
});

/** dS = P·(dP − Δ), dP_j = dO·v_j, Δ = dO·O; callback sees every (b, h, i, j) with P and dS. */
function backward(ins: readonly RefTensor[], a: Attrs, visit: (s: ReturnType<typeof setup>, b: number, h: number, i: number, j: number, p: number, ds: number) => void): void {
  const [, , v, o, dO] = ins as [RefTensor, RefTensor, RefTensor, RefTensor, RefTensor];
  const s = setup(ins, a, 5);
  const { B, H, Tq, Tk, D, qi, ki, probs } = s;
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < Tq; i++) {
    const p = probs(b, h, i);
    let delta = 0;
    for (let d = 0; d < D; d++) delta += dO.data[qi(b, h, i) + d]! * o.data[qi(b, h, i) + d]!;
    for (let j = 0; j < Tk; j++) {
      if (p[j] === 0) continue;
      let dp = 0;
      for (let d = 0; d < D; d++) dp += dO.data[qi(b, h, i) + d]! * v.data[ki(b, h, j) + d]!;
      visit(s, b, h, i, j, p[j]!, p[j]! * (dp - delta));
    }
  }
}

function gradOp(which: 'q' | 'k' | 'v'): void {
  defineOp({
    name: `attention_grad_${which}`, kind: 'composite',
    infer: (ins, a) => {
      const d = check(ins, a, 5);
      if (typeof d === 'string') return d;
      if (!sameShape(ins[3]!.shape, ins[0]!.shape) || !sameShape(ins[4]!.shape, ins[0]!.shape)) return 'o and dO must have the shape of q';
      return { shape: ins[which === 'q' ? 0 : which === 'k' ? 1 : 2]!.shape, dtype: ins[4]!.dtype };
    },
    ref: (ins, a, out) => {
      const [q, k, , , dO] = ins as RefTensor[];
      const r = new Float64Array(numel(out.shape));
      backward(ins, a, ({ D, scale, qi, ki }, b, h, i, j, p, ds) => {
        for (let d = 0; d < D; d++) {
          if (which === 'q') r[qi(b, h, i) + d]! += scale * ds * k!.data[ki(b, h, j) + d]!;   // dq_i = scale Σ_j dS_ij k_j
          else if (which === 'k') r[ki(b, h, j) + d]! += scale * ds * q!.data[qi(b, h, i) + d]!;  // dk_j = scale Σ_i dS_ij q_i
          else r[ki(b, h, j) + d]! += p * dO!.data[qi(b, h, i) + d]!;                           // dv_j = Σ_i P_ij dO_i
        }
      });
      return r;
    },
  });
}
gradOp('q');
gradOp('k');
gradOp('v');
