// Registers every op by importing each op family once; graph users import '../ops/index.js' (or the IR's
// index). The op vocabulary, inputs in order, {attrs}; ints are i32/u32 tensors, broadcasting is numpy's.
//
// Forward (see the Graph helpers in compiler/ir/graph.ts for semantics):
//   scalar() {value, dtype}                       add sub mul div maximum minimum pow (a, b)
//   compare(a, b) {cmp: lt|le|gt|ge|eq|ne} → f32 0/1   where(cond, a, b)
//   neg abs exp log sqrt rsqrt recip tanh sigmoid silu gelu_tanh gelu_erf relu square (x)
//   cast(x) {dtype}   stop_gradient(x)
//   sum mean max logsumexp (x) {axes, keepdims}
//   matmul(a, b) {transA, transB}
//   reshape {shape} permute {perm} expand {shape} slice {start, end} pad {before, after, value} (x); concat(...xs) {axis}
//   gather(table, idx)  scatter_add(idx, src) {rows}  topk(x) {k} → i32  take_along(a, idx)  one_hot(idx) {n}
//   cumsum(x) {axis, reverse?}                     (reverse: optional extension, sums from the end)
//   conv2d(x, w) {stride, padding, groups}         adaptive_avg_pool2d(x) {oh, ow}
//   softmax log_softmax (x) {axis}   layernorm layernorm2d (x, w, b) {eps}   rmsnorm(x, w) {eps}
//   rope(x, pos) {theta, inverse?}                 (inverse: rotate by −angle; the VJP of rope)
//   attention(q, k, v, [qSeg, kSeg], [qPos]) {causal, scale, hasSeg, hasPos}
//   cache_write(cache, x, pos)   cache_read(cache, pos) {len} → [B, H, len, D] rows pos[0].. (zeros past Tmax)
//   cross_entropy(logits, target) → f32 [N]; rows with target < 0 or ≥ V are ignored (0)
// Backward (built by the VJP rules; codegen keys kernels by these names):
//   silu_grad gelu_tanh_grad gelu_erf_grad (x, dy) → dy·f'(x)                      [elementwise, with wgsl]
//   softmax_grad(y, dy) {axis} → y·(dy − Σ dy·y)       log_softmax_grad(y, dy) {axis} → dy − exp(y)·Σ dy
//       (y is the forward output; both have VJPs, so second order works through softmax)
//   layernorm_grad_x / layernorm2d_grad_x / rmsnorm_grad_x (x, w, dy) {eps} → dx   (stats recomputed from x)
//   layernorm_grad_w / layernorm2d_grad_w / rmsnorm_grad_w (x, dy) {eps} → dw = Σ_rows dy·x̂   (db = sum(dy))
//   conv2d_grad_input(dy, w) {stride, padding, groups, inH, inW} → dx [B, C, inH, inW]
//   conv2d_grad_weight(x, dy) {stride, padding, groups, kh, kw} → dw [O, C/groups, kh, kw]
//   adaptive_avg_pool2d_grad(dy) {inH, inW} → dx [B, C, inH, inW]
//   attention_grad_q / _k / _v (q, k, v, o, dO, [qSeg, kSeg], [qPos]) {forward's attrs} → dq [B,H,Tq,D],
//       dk, dv [B,Hkv,Tk,D] (summed over each kv head's query group); P recomputed, Δ_i = dO_i·o_i
//   cross_entropy_grad(logits, target, dy) → dy_i·(softmax(l_i) − onehot(t_i)), zero rows where ignored
//   rope {inverse: true} for rope; cumsum {reverse: true} for cumsum; scatter_add ↔ gather; pad ↔ slice;
//   cache_write ↔ cache_read; take_along's VJP is matmul with one_hot; max/logsumexp/pow/... compose
//   elementwise ops. OpDef.vjp's optional `needs` skips building unwanted input gradients.

import './elementwise.js';
import './reduce.js';
import './matmul.js';
import './movement.js';
import './indexing.js';
import './conv.js';
import './norm.js';
import './softmax.js';
import './attention.js';
import './rope.js';
import './cache.js';
import './loss.js';

export { getOp, hasOp, allOps, defineOp } from './registry.js';
export type { OpDef, RefTensor } from './registry.js';
export { unbroadcast, broadcastShapes } from './util.js';
