// Every op family on the real adapter against the CPU reference (f32, 1e-5 of the output's magnitude), with
// temps and outputs poisoned with NaN before each run. Small shapes, several ops per program to keep it fast.
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import type { Node } from '../../compiler/ir/node.js';
import { openDevice, type GpuDevice } from '../../runtime/device.js';
import { check, randInt, randomFeeds } from './harness.js';
import { programKernelsText } from '../../compiler/codegen/program.js';
import { compileProgram } from '../../compiler/codegen/compile.js';
import { kernelCaps, type KernelCaps } from '../../compiler/codegen/caps.js';

let dev: GpuDevice;
beforeAll(async () => { dev = await openDevice(); });

const out = (g: Graph, items: Record<string, Node>): string[] => { for (const [k, v] of Object.entries(items)) g.output(k, v); return Object.keys(items); };

/** The WGSL of the kernel writing output `o` (the writer binds it first). */
const kernelOf = (r: { program: { kernels: { bindings: number[]; wgsl: string }[]; outputs: Record<string, number> } }, o: string): string =>
  r.program.kernels.find((k) => k.bindings.includes(r.program.outputs[o]!))!.wgsl;

describe('elementwise and movement', () => {
  it('unary, binary, compare/where, cast, broadcasting', async () => {
    const g = new Graph();
    const a = g.input('a', [3, 4, 5]), b = g.input('b', [4, 1]), c = g.input('c', [5]);
    const pos = g.add(g.mul(a, a), g.scalar(0.5));
    const items: Record<string, Node> = {};
    for (const op of ['neg', 'abs', 'exp', 'tanh', 'sigmoid', 'silu', 'gelu_tanh', 'gelu_erf', 'relu', 'square'] as const) items[op] = g.unary(op, a);
    for (const op of ['log', 'sqrt', 'rsqrt', 'recip'] as const) items[op] = g.unary(op, pos);
    items.add = g.add(a, b); items.sub = g.sub(a, c); items.mul = g.mul(b, c); items.div = g.div(a, g.add(g.unary('abs', c), g.scalar(1)));
    items.max = g.max(a, b); items.min = g.min(a, c); items.pow = g.pow(pos, g.scalar(1.5));
    items.where = g.where(g.compare(a, b, 'gt'), a, g.mul(c, g.scalar(3)));
    items.cmp = g.compare(a, c, 'le');
    items.castf16 = g.cast(g.cast(a, 'f16'), 'f32');
    items.casti = g.cast(g.cast(g.mul(a, g.scalar(10)), 'i32'), 'f32');
    await check(dev, g, out(g, items), randomFeeds(g));
  });

  it('4 elements per invocation: vec4 loads for same shapes, scalars and leading-axis broadcasts, gathers otherwise', async () => {
    for (const precision of ['f32', 'f16'] as const) {
      const g = new Graph();
      const a = g.input('a', [3, 4, 8]), row = g.input('row', [8]), col = g.input('col', [4, 1]), k = g.input('k', [3, 4, 8], 'i32');
      const odd = g.input('odd', [3, 5]);
      const items: Record<string, Node> = {
        chain: g.add(g.mul(g.silu(a), row), g.scalar(0.25)),                        // same shape, a row, a scalar
        colb: g.sub(a, col),                                                        // broadcast along the last axis
        where: g.where(g.compare(a, row, 'gt'), g.exp(a), g.neg(row)),
        ints: g.cast(g.add(k, g.cast(g.mul(a, g.scalar(3)), 'i32')), 'f32'),        // i32 arithmetic on vec4<i32>
        perm: g.mul(g.permute(a, [1, 0, 2]), g.scalar(2)),                          // a permute inside
        odd: g.mul(odd, odd),                                                       // 15 elements: one per invocation
      };
      const r = await check(dev, g, out(g, items), randomFeeds(g), precision === 'f32' ? 1e-5 : 1e-2, precision);
      const wgsl = (o: string): string => r.program.kernels.find((kk) => kk.bindings[0] === r.program.outputs[o])!.wgsl;
      const vecIns = (o: string): number => (wgsl(o).match(/var<storage, read> b\d+: array<vec4<(f32|f16|i32)>>/g) ?? []).length;
      expect(vecIns('chain'), wgsl('chain')).toBe(2);          // a and row; the scalar is a literal
      expect(vecIns('where'), wgsl('where')).toBe(2);
      expect(vecIns('colb'), wgsl('colb')).toBe(1);            // a; col is read one element at a time
      expect(wgsl('colb')).toMatch(/array<f(32|16)>;/);
      expect(vecIns('ints'), wgsl('ints')).toBe(2);
      expect(wgsl('ints')).toContain('vec4<i32>');
      expect(wgsl('odd')).not.toContain('vec4');
    }
  });

  it('permute, expand, slice, pad, concat, reshape fuse as index arithmetic', async () => {
    const g = new Graph();
    const a = g.input('a', [2, 3, 4]), b = g.input('b', [2, 1, 4]);
    const items: Record<string, Node> = {
      perm: g.permute(a, [2, 0, 1]),
      exp: g.add(g.expand(b, [2, 3, 4]), a),
      sl: g.slice(a, [0, 1, 1], [2, 3, 4]),
      pad: g.pad(a, [0, 1, 2], [1, 0, 1], 0.5),
      cat: g.concat([a, g.exp(b), a], 1),
      rs: g.reshape(g.permute(a, [1, 0, 2]), [6, 4]),
    };
    await check(dev, g, out(g, items), randomFeeds(g));
  });
});

describe('reductions', () => {
  it('sum / mean / max / logsumexp over various axes, short and long', async () => {
    const g = new Graph();
    const a = g.input('a', [3, 4, 5]), big = g.input('big', [3, 700]);
    const items: Record<string, Node> = {
      s0: g.sum(a, [0]), s12: g.sum(a, [1, 2], true), m1: g.mean(a, [1]), mx: g.maxReduce(a, [-1]), lse: g.logsumexp(a, [0, 2]),
      bs: g.sum(big, [1]), bm: g.mean(big, [0, 1]), bmx: g.maxReduce(big, [1], true), blse: g.logsumexp(big, [-1]),
      fused: g.sum(g.mul(g.exp(a), g.scalar(2)), [2]),
    };
    await check(dev, g, out(g, items), randomFeeds(g));
  });

  it('a large sum of everything runs in two stages (partials, then their sum); one that cannot split stays one', async () => {
    const g = new Graph();
    const big = g.input('big', [3, 40000]), odd = g.input('odd', [65537]);        // 120000 = 1000 · 120; 65537 is prime
    const items: Record<string, Node> = { sq: g.sum(g.mul(big, big), [0, 1]), kd: g.sum(big, [0, 1], true), odd: g.sum(odd, [0]) };
    // The partial stages (400 partials each for the two 120000-element sums) and the unsplittable sum share one
    // kernel of 801 rows; the sums of the partials then share a second (2 rows). A workgroup per row, also on
    // software adapters: the 65537-long row is too long for a lane per row.
    for (const software of [false, true]) {
      const r = await check(dev, g, out(g, items), randomFeeds(g), 1e-5, 'f32', { ...kernelCaps(dev.caps), software });
      const text = programKernelsText(r.program);
      expect(r.program.kernels.map((k) => k.workgroups[0]), text).toEqual([801, 2]);
      const writers = (o: string) => r.program.kernels.filter((k) => k.bindings.includes(r.program.outputs[o]!));
      for (const o of ['sq', 'kd', 'odd']) expect(writers(o).length, o).toBe(1);
    }
  });
});

describe('matmul', () => {
  it('2-D, transposes, batched, broadcast batch, epilogue with residual', async () => {
    const g = new Graph();
    const a = g.input('a', [13, 17]), b = g.input('b', [17, 11]), bt = g.input('bt', [11, 17]);
    const qa = g.input('qa', [2, 3, 5, 6]), qb = g.input('qb', [2, 3, 6, 4]), w = g.input('w', [6, 4]), pb = g.input('pb', [1, 3, 6, 4]);
    const r = g.input('r', [13, 11]), bias = g.input('bias', [11]);
    const items: Record<string, Node> = {
      mm: g.matmul(a, b), mmT: g.matmul(a, bt, { transB: true }), mmTA: g.matmul(g.reshape(bt, [17, 11]), b, { transA: true }),
      bmm: g.matmul(qa, qb), bw: g.matmul(qa, w), bpb: g.matmul(qa, pb),
      epi: g.add(r, g.gelu(g.add(g.matmul(a, b), bias))),
    };
    await check(dev, g, out(g, items), randomFeeds(g));
  });

  it('epilogue through a reshape: x + reshape(h·W, [B, T, D]) (the decoder residual) is one kernel', async () => {
    const g = new Graph();
    const B = 2, T = 5, D = 12;
    const x = g.input('x', [B, T, D]), h = g.input('h', [B * T, D]), w = g.input('w', [D, D]);
    const y = g.mul(g.add(x, g.reshape(g.matmul(h, w), [B, T, D])), g.scalar(0.5));
    const r = await check(dev, g, out(g, { y }), randomFeeds(g));
    expect(r.program.kernels.map((k) => k.name)).toEqual(['matmul_epilogue']);
  });
});

describe('what the software adapter gets (4 columns per store, loops the shader compiler does not unroll)', () => {
  const software = (): KernelCaps => ({ ...kernelCaps(dev.caps), software: true });

  it('matmul epilogues: vec4 rows when N is a multiple of 4 (B in place or transposed), one element at a time otherwise', async () => {
    const g = new Graph();
    const a = g.input('a', [13, 16]), w = g.input('w', [16, 12]), w2 = g.input('w2', [16, 12]), wt = g.input('wt', [12, 16]), w10 = g.input('w10', [16, 10]);
    const wt10 = g.input('wt10', [10, 16]);
    const res = g.input('res', [13, 12]), bias = g.input('bias', [12]), bias10 = g.input('bias10', [10]);
    const items: Record<string, Node> = {
      four: g.add(res, g.silu(g.add(g.matmul(a, w), bias))),
      plain: g.matmul(a, w2),
      odd: g.add(g.matmul(a, w10), bias10),
      bt: g.add(res, g.matmul(a, wt, { transB: true })),
      bt10: g.add(g.matmul(a, wt10, { transB: true }), bias10),
    };
    const r = await check(dev, g, out(g, items), randomFeeds(g), 1e-5, 'f32', software());
    expect(kernelOf(r, 'four')).toContain('ep_apply4(');
    expect(kernelOf(r, 'four')).toContain('put4(bi');
    expect(kernelOf(r, 'plain')).toContain('put4(bi');
    expect(kernelOf(r, 'odd')).not.toContain('put4(bi');
    expect(kernelOf(r, 'bt')).toContain('put4(bi');
    expect(kernelOf(r, 'bt10')).not.toContain('put4(bi');
  });

  it('reductions keeping the last axis loop once over vec4; others one element per invocation; bounds hidden', async () => {
    const g = new Graph();
    const x = g.input('x', [6, 5, 8]), y = g.input('y', [6, 5, 8]);
    const xy = g.add(x, y);
    const items: Record<string, Node> = {
      sum: g.sum(xy, [0]), mean: g.mean(xy, [0, 1]), max: g.maxReduce(xy, [1], true), lse: g.logsumexp(xy, [0]),
      last: g.sum(xy, [2]),                                     // over the last axis: not vectorizable
    };
    const r = await check(dev, g, out(g, items), randomFeeds(g), 1e-5, 'f32', software());
    for (const o of ['sum', 'mean', 'max', 'lse']) {
      const w = kernelOf(r, o);
      expect(w, o).toContain('var<storage, read_write> out: array<vec4<f32>>');
      expect(w.match(/for \(var r/g)!.length, o).toBe(o === 'lse' ? 2 : 1);
      expect(w, o).toContain('arrayLength(&out) == 0u');
    }
    expect(kernelOf(r, 'last')).toContain('var<storage, read_write> out: array<f32>');
    // On GPUs the bounds stay literal (the driver's unrolling is welcome there).
    const p = compileProgram(g, { outputs: Object.keys(items), caps: { ...kernelCaps(dev.caps), software: false } });
    expect(programKernelsText(p)).not.toContain('arrayLength(&out) == 0u');
  });

  it('row kernels with many rows up to 2048 long run a lane per row (no barriers, 8 rows per workgroup)', async () => {
    const g = new Graph();
    const x = g.input('x', [70, 48]), w = g.input('w', [48]), b = g.input('b', [48]), dy = g.input('dy', [70, 48]);
    const big = g.input('big', [130, 20]), long = g.input('long', [70, 2052]), a3 = g.input('a3', [8, 12, 9]), tall = g.input('tall', [300, 70]);
    const l = g.input('l', [70, 50]), t = g.input('t', [70], 'i32'), dl = g.input('dl', [70]);
    const sm1 = g.softmax(a3, 1);
    const items: Record<string, Node> = {
      ln: g.layernorm(x, w, b), rms: g.rmsnorm(big, g.input('wb', [20])), sm: g.softmax(big, -1), sm1, smlong: g.softmax(long, -1),
      smg: g.op('softmax_grad', [sm1, g.input('da3', [8, 12, 9])], { axis: 1 }),
      lngx: g.op('layernorm_grad_x', [x, w, dy], { eps: 1e-5 }), rmsgx: g.op('rmsnorm_grad_x', [x, w, dy], { eps: 1e-5 }),
      lngw: g.op('layernorm_grad_w', [x, dy], { eps: 1e-5 }),             // 48 columns: under 64, a workgroup each
      colsum: g.sum(tall, [0]), colmax: g.maxReduce(tall, [0]),          // 70 outputs of 300-long reductions
      ce: g.crossEntropy(l, t), ceg: g.op('cross_entropy_grad', [l, t, dl]),
    };
    const tv = Float64Array.from({ length: 70 }, (_, i) => (i % 11 === 3 ? -1 : (i * 7) % 50));
    const r = await check(dev, g, out(g, items), randomFeeds(g, 3, 50, { t: tv }), 1e-5, 'f32', software());
    const lanes = (o: string): string => kernelOf(r, o);
    for (const o of ['ln', 'rms', 'sm', 'sm1', 'smg', 'lngx', 'rmsgx', 'colsum', 'colmax', 'ce', 'ceg']) {
      expect(lanes(o), o).toContain('fn wg_sum(v: f32, lid: u32) -> f32 { return v; }');
      expect(lanes(o), o).toContain('@workgroup_size(8)');
      expect(lanes(o), o).not.toContain('workgroupBarrier');
    }
    for (const o of ['lngw', 'smlong']) expect(lanes(o), o).toContain('workgroupBarrier');   // too few rows; rows too long
  });
});

describe('composites', () => {
  it('softmax / log_softmax on any axis and their grads', async () => {
    const g = new Graph();
    const a = g.input('a', [3, 40, 5]), dy = g.input('dy', [3, 40, 5]);
    const sm = g.softmax(a, -1), sm1 = g.softmax(a, 1), lsm = g.logSoftmax(g.mul(a, g.scalar(3)), 1);
    const items: Record<string, Node> = {
      sm, sm1, lsm,
      smg: g.op('softmax_grad', [sm1, dy], { axis: 1 }),
      lsmg: g.op('log_softmax_grad', [lsm, dy], { axis: 1 }),
    };
    await check(dev, g, out(g, items), randomFeeds(g));
  });

  it('layernorm, layernorm2d, rmsnorm forward and grad_x / grad_w', async () => {
    const g = new Graph();
    const x = g.input('x', [6, 48]), w = g.input('w', [48]), b = g.input('b', [48]), dy = g.input('dy', [6, 48]);
    const x4 = g.input('x4', [2, 5, 3, 3]), w4 = g.input('w4', [5]), b4 = g.input('b4', [5]), dy4 = g.input('dy4', [2, 5, 3, 3]);
    const items: Record<string, Node> = {
      ln: g.layernorm(g.add(x, g.scalar(2)), w, b), rms: g.rmsnorm(x, w), ln2: g.layernorm2d(x4, w4, b4),
      lngx: g.op('layernorm_grad_x', [x, w, dy], { eps: 1e-5 }), lngw: g.op('layernorm_grad_w', [x, dy], { eps: 1e-5 }),
      rmsgx: g.op('rmsnorm_grad_x', [x, w, dy], { eps: 1e-5 }), rmsgw: g.op('rmsnorm_grad_w', [x, dy], { eps: 1e-5 }),
      ln2gx: g.op('layernorm2d_grad_x', [x4, w4, dy4], { eps: 1e-6 }), ln2gw: g.op('layernorm2d_grad_w', [x4, dy4], { eps: 1e-6 }),
    };
    await check(dev, g, out(g, items), randomFeeds(g));
  });

  it('cross_entropy and its grad (ignored targets give 0)', async () => {
    const g = new Graph();
    const l = g.input('l', [7, 50]), t = g.input('t', [7], 'i32'), dy = g.input('dy', [7]);
    const items = { ce: g.crossEntropy(l, t), ceg: g.op('cross_entropy_grad', [l, t, dy]) };
    const feeds = randomFeeds(g, 3, 50, { t: Float64Array.from([0, 49, -1, 3, 50, 7, 7]) });
    await check(dev, g, out(g, items), feeds);
  });
});

describe('row kernels as vec4s', () => {
  it('contiguous rows a multiple of 4 long step by vec4 (vector loads and stores), others by element; lanes and workgroups', async () => {
    const g = new Graph();
    const items: Record<string, Node> = {};
    for (const [name, R, n] of [['v', 70, 44], ['s', 70, 42], ['wv', 5, 1040], ['ws', 5, 1042]] as const) {
      const x = g.input(`x_${name}`, [R, n]), w = g.input(`w_${name}`, [n]), dy = g.input(`dy_${name}`, [R, n]);
      const t = g.input(`t_${name}`, [R], 'i32'), dl = g.input(`dl_${name}`, [R]);
      const sm = g.softmax(x, -1), lsm = g.logSoftmax(x, -1);
      Object.assign(items, {
        [`sm_${name}`]: sm, [`lsm_${name}`]: lsm,
        [`smg_${name}`]: g.op('softmax_grad', [sm, dy], { axis: -1 }), [`lsmg_${name}`]: g.op('log_softmax_grad', [lsm, dy], { axis: -1 }),
        [`ln_${name}`]: g.layernorm(x, w, g.input(`b_${name}`, [n])), [`rms_${name}`]: g.rmsnorm(x, w),
        [`lngx_${name}`]: g.op('layernorm_grad_x', [x, w, dy], { eps: 1e-5 }), [`rmsgx_${name}`]: g.op('rmsnorm_grad_x', [x, w, dy], { eps: 1e-5 }),
        [`ce_${name}`]: g.crossEntropy(x, t), [`ceg_${name}`]: g.op('cross_entropy_grad', [x, t, dl]),
      });
    }
    const base = kernelCaps(dev.caps);
    for (const caps of [base, { ...base, software: false }]) {
      const R = (name: string): number => (name.startsWith('w') ? 5 : 70), N = (name: string): number => ({ v: 44, s: 42, wv: 1040, ws: 1042 })[name]!;
      const targets: Record<string, Float64Array> = {};
      for (const name of ['v', 's', 'wv', 'ws']) targets[`t_${name}`] = Float64Array.from({ length: R(name) }, (_, i) => (i % 7 === 3 ? -1 : (i * 13) % N(name)));
      const r = await check(dev, g, out(g, items), randomFeeds(g, 9, 4, targets), 1e-5, 'f32', caps);
      for (const o of Object.keys(items)) {
        const vec = /_w?v$/.test(o);
        // The vec4 form declares a vec4 output (cross-entropy's per-row loss stays scalar) and loops over j4.
        expect(kernelOf(r, o).includes('j4 < '), `${o} ${caps.software ? 'software' : 'gpu'}`).toBe(vec);
      }
    }
  });
});

describe('indexing', () => {
  it('gather, scatter_add, topk, take_along, one_hot, cumsum', async () => {
    const g = new Graph();
    const tab = g.input('tab', [10, 6]), idx = g.input('idx', [2, 5], 'i32'), src = g.input('src', [2, 5, 6]);
    const x = g.input('x', [4, 9]), k = g.input('k', [4, 3], 'i32');
    const items: Record<string, Node> = {
      ga: g.gather(tab, idx), sc: g.scatterAdd(idx, src, 10), tk: g.topk(x, 3), ta: g.takeAlong(x, k),
      oh: g.oneHot(idx, 10), cs: g.cumsum(x, 1), cs0: g.cumsum(x, 0), csr: g.op('cumsum', [x], { axis: 1, reverse: true }),
    };
    const feeds = randomFeeds(g, 5, 10, { idx: Float64Array.from([0, 3, 9, 3, -1, 12, 2, 2, 5, 0]), k: randInt(12, 9, 0, 9) });
    // Both forms of the one-item-per-invocation kernels (scatter's zero fill and atomic add): a GPU's, and a
    // software adapter's, whose invocations stride over the items and skip an out-of-range index with `continue`.
    for (const software of [false, true]) await check(dev, g, out(g, items), feeds, 1e-5, 'f32', { ...kernelCaps(dev.caps), software });
  });
});

describe('split-K weight gradients', () => {
  it('xᵀ·dy over a long K runs as K-slices and their sum on GPUs (not on software adapters), equal to the reference', async () => {
    const g = new Graph();
    const x = g.input('x', [4096, 24]), dy = g.input('dy', [4096, 40]), s = g.input('s', []);
    // A weight gradient with an elementwise consumer (what was its matmul epilogue), and one that K makes too short to split.
    const dw = g.mul(g.matmul(x, dy, { transA: true }), s);
    const short = g.matmul(g.slice(x, [0, 0], [1024, 24]), g.slice(dy, [0, 0], [1024, 40]), { transA: true });
    const items: Record<string, Node> = { dw, short };
    const gpuCaps = { ...kernelCaps(dev.caps), software: false };
    const r = await check(dev, g, out(g, items), randomFeeds(g), 1e-5, 'f32', gpuCaps);
    const batched = r.program.kernels.filter((k) => k.matmul && k.matmul.batch > 1);
    expect(batched.map((k) => [k.matmul!.batch, k.matmul!.M, k.matmul!.N, k.matmul!.K]), programKernelsText(r.program)).toEqual([[4, 24, 40, 1024]]);
    // A software adapter keeps the single matmul.
    const soft = compileProgram(g, { outputs: ['dw'], caps: { ...kernelCaps(dev.caps), software: true } });
    expect(soft.kernels.filter((k) => k.matmul).map((k) => k.matmul!.batch)).toEqual([1]);
  });
});

describe('convolution and pooling', () => {
  it('conv2d (stride, padding, groups) and grads; adaptive_avg_pool2d and grad', async () => {
    const g = new Graph();
    const x = g.input('x', [2, 4, 7, 6]), w = g.input('w', [6, 2, 3, 3]), dw = g.input('dwx', [4, 1, 3, 3]);
    const y = g.conv2d(x, w, { stride: 2, padding: 1, groups: 2 });
    const dy = g.input('dy', y.shape);
    const items: Record<string, Node> = {
      y, dep: g.conv2d(x, dw, { padding: 1, groups: 4 }),
      gi: g.op('conv2d_grad_input', [dy, w], { stride: 2, padding: 1, groups: 2, inH: 7, inW: 6 }),
      gw: g.op('conv2d_grad_weight', [x, dy], { stride: 2, padding: 1, groups: 2, kh: 3, kw: 3 }),
      pool: g.adaptiveAvgPool2d(x, 3, 4),
      poolg: g.op('adaptive_avg_pool2d_grad', [g.adaptiveAvgPool2d(x, 3, 4)], { inH: 7, inW: 6 }),
    };
    await check(dev, g, out(g, items), randomFeeds(g));
  });
});

describe('attention', () => {
  it('rope, attention forward (causal, grouped KV, segments, qPos) and backward', async () => {
    const g = new Graph();
    const B = 2, H = 4, Hkv = 2, T = 37, D = 8;
    const q = g.input('q', [B, H, T, D]), k = g.input('k', [B, Hkv, T, D]), v = g.input('v', [B, Hkv, T, D]);
    const pos = g.input('pos', [T], 'i32'), qs = g.input('qs', [B, T], 'i32'), ks = g.input('ks', [B, T], 'i32');
    const dO = g.input('dO', [B, H, T, D]);
    const qr = g.rope(q, pos, 10000), kr = g.rope(k, pos, 10000);
    const o = g.attention(qr, kr, v, { causal: true });
    const o2 = g.attention(q, k, v, { causal: true, qSeg: qs, kSeg: ks });
    const q1 = g.input('q1', [B, H, 3, D]), qp = g.input('qp', [3], 'i32');
    const o3 = g.attention(q1, k, v, { causal: true, qPos: qp });
    const o4 = g.attention(q, k, v, { causal: false });
    const attrs = o.attrs;
    const gq = g.op('attention_grad_q', [qr, kr, v, o, dO], attrs);
    const gk = g.op('attention_grad_k', [qr, kr, v, o, dO], attrs);
    const gv = g.op('attention_grad_v', [qr, kr, v, o, dO], attrs);
    const a2 = o2.attrs;
    const gk2 = g.op('attention_grad_k', [q, k, v, o2, dO, qs, ks], a2);
    const gv4 = g.op('attention_grad_v', [q, k, v, o4, dO], o4.attrs);         // dv alone: no dO·v, no Δ
    const items: Record<string, Node> = { qr, ropeinv: g.op('rope', [qr, pos], { theta: 10000, inverse: true }), o, o2, o3, o4, gq, gk, gv, gk2, gv4 };
    const ar = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => i);
    const segs = Float64Array.from({ length: B * T }, (_, i) => (i % T < 10 ? 0 : i % T < 30 ? 1 : -1));
    const feeds = randomFeeds(g, 11, 4, { pos: ar(T), qs: segs, ks: segs, qp: Float64Array.from([5, 20, 36]) });
    // On software adapters with subgroups, the forward and dq read keys (dk and dv: queries) through
    // subgroupBroadcast in blocks of 8 (T = 37: a partial last block); without subgroups, and on GPUs, they
    // stage tiles in workgroup memory.
    const base = kernelCaps(dev.caps);
    for (const caps of [base, { ...base, subgroups: false }, { ...base, software: false }]) {
      const r = await check(dev, g, out(g, items), feeds, 1e-5, 'f32', caps);
      const fwd = r.program.kernels.find((k) => k.bindings.includes(r.program.outputs.o!))!.wgsl;
      const shared = caps.software && caps.subgroups && caps.subgroupMinSize >= 8;
      expect(fwd.includes('subgroupBroadcast(kc, 7u)'), JSON.stringify({ software: caps.software, subgroups: caps.subgroups })).toBe(shared);
      expect(fwd.includes('workgroupBarrier')).toBe(!shared);
      const dq = r.program.kernels.find((k) => k.bindings.includes(r.program.outputs.gq!))!.wgsl;
      expect(dq.includes('subgroupBroadcast(kc, 7u)'), 'dq').toBe(shared);
      for (const name of ['gk', 'gv', 'gk2', 'gv4']) {
        const kv = r.program.kernels.find((k) => k.bindings.includes(r.program.outputs[name]!))!.wgsl;
        expect(kv.includes(name === 'gv4' ? 'subgroupBroadcast(gc, 7u)' : 'subgroupBroadcast(qc, 7u)'), name).toBe(shared);
        expect(kv.includes('workgroupBarrier'), name).toBe(!shared);
      }
    }
  });

  it('attention backward across several tiles: Tq < Tk (causal offset), cross-attention, query positions', async () => {
    // 70 keys and 45 queries span three key tiles and two query blocks, so the causal tile skipping
    // (key block starts not aligned with query tiles) and the partial last tiles are both exercised.
    const g = new Graph();
    const B = 1, H = 4, Hkv = 2, Tq = 45, Tk = 70, D = 16;
    const q = g.input('q', [B, H, Tq, D]), k = g.input('k', [B, Hkv, Tk, D]), v = g.input('v', [B, Hkv, Tk, D]);
    const dO = g.input('dO', [B, H, Tq, D]);
    const items: Record<string, Node> = {};
    for (const [name, causal] of [['causal', true], ['cross', false]] as const) {
      const o = g.attention(q, k, v, { causal });
      items[`${name}_o`] = o;
      for (const w of ['q', 'k', 'v']) items[`${name}_d${w}`] = g.op(`attention_grad_${w}`, [q, k, v, o, dO], o.attrs);
    }
    const qp = g.input('qp', [Tq], 'i32');
    const op = g.attention(q, k, v, { causal: true, qPos: qp });
    for (const w of ['q', 'k', 'v']) items[`pos_d${w}`] = g.op(`attention_grad_${w}`, [q, k, v, op, dO, qp], op.attrs);
    const feeds = randomFeeds(g, 5, 4, { qp: Float64Array.from({ length: Tq }, (_, i) => (i * 37) % Tk) });
    const base = kernelCaps(dev.caps);
    for (const caps of [base, { ...base, subgroups: false }]) await check(dev, g, out(g, items), feeds, 1e-5, 'f32', caps);   // shared and staged
  });

  it('dk and dv share a kernel only within the storage-buffer limit (with two segment inputs it would need 9 of 8)', async () => {
    const g = new Graph();
    const B = 1, H = 2, T = 20, D = 8;
    const q = g.input('q', [B, H, T, D]), k = g.input('k', [B, H, T, D]), v = g.input('v', [B, H, T, D]), dO = g.input('dO', [B, H, T, D]);
    const qs = g.input('qs', [B, T], 'i32'), ks = g.input('ks', [B, T], 'i32');
    const items: Record<string, Node> = {};
    const o = g.attention(q, k, v, { causal: true });
    for (const w of ['k', 'v']) items[`d${w}`] = g.op(`attention_grad_${w}`, [q, k, v, o, dO], o.attrs);
    const om = g.attention(q, k, v, { causal: true, qSeg: qs, kSeg: ks });
    for (const w of ['k', 'v']) items[`m_d${w}`] = g.op(`attention_grad_${w}`, [q, k, v, om, dO, qs, ks], om.attrs);
    const segs = Float64Array.from({ length: T }, (_, i) => (i < 12 ? 0 : 1));
    const feeds = randomFeeds(g, 8, 4, { qs: segs, ks: segs });
    // The WebGPU default limit (8 storage buffers) and a GPU's other capabilities, on this adapter.
    const caps: KernelCaps = { ...kernelCaps(dev.caps), software: false, limits: { ...kernelCaps(dev.caps).limits, maxStorageBuffersPerShaderStage: 8 } };
    const r = await check(dev, g, out(g, items), feeds, 1e-5, 'f32', caps);
    const names = r.program.kernels.map((kk) => kk.name);
    expect(names.filter((n) => n === 'attention_grad_kv')).toHaveLength(1);          // the plain pair
    expect(names.filter((n) => n === 'attention_grad_k' || n === 'attention_grad_v')).toHaveLength(2);   // the masked pair
    for (const kk of r.program.kernels) expect(kk.bindings.length, kk.name).toBeLessThanOrEqual(8);
  });

  it('head dims that are not a multiple of 4 (scalar rows instead of vec4)', async () => {
    const g = new Graph();
    const B = 1, H = 2, T = 40, D = 6;
    const q = g.input('q', [B, H, T, D]), k = g.input('k', [B, H, T, D]), v = g.input('v', [B, H, T, D]), dO = g.input('dO', [B, H, T, D]);
    const o = g.attention(q, k, v, { causal: true });
    const items: Record<string, Node> = { o };
    for (const w of ['q', 'k', 'v']) items[`d${w}`] = g.op(`attention_grad_${w}`, [q, k, v, o, dO], o.attrs);
    await check(dev, g, out(g, items), randomFeeds(g, 9, 4));
  });

  it('one query per head (decoding): keys split across the workgroup, positions, padding, grouped KV, merged heads', async () => {
    const g = new Graph();
    const B = 2, H = 4, Hkv = 2, Tk = 150, D = 16;
    const q = g.input('q', [B, H, 1, D]), k = g.input('k', [B, Hkv, Tk, D]), v = g.input('v', [B, Hkv, Tk, D]);
    const qs = g.input('qs', [B, 1], 'i32'), ks = g.input('ks', [B, Tk], 'i32');
    const items: Record<string, Node> = {};
    const at = (p: number): Node => g.constant(`p${p}`, [1], Float64Array.from([p]), 'i32');
    for (const pos of [0, 37, 149]) items[`pos${pos}`] = g.attention(q, k, v, { causal: true, qPos: at(pos) });
    items.seg = g.attention(q, k, v, { causal: false, qSeg: qs, kSeg: ks });
    items.byIndex = g.attention(q, k, v, { causal: true });
    // Heads merged back to [B, 1, H, D]: the kernel writes that layout itself.
    items.merged = g.permute(g.attention(q, k, v, { causal: true, qPos: at(99) }), [0, 2, 1, 3]);
    const q6 = g.input('q6', [1, 2, 1, 6]), k6 = g.input('k6', [1, 2, 40, 6]), v6 = g.input('v6', [1, 2, 40, 6]);
    items.d6 = g.attention(q6, k6, v6, { causal: true });
    // Keys 0-9 padding (-1) for batch row 0; batch row 1's query sees only segment 1.
    const kseg = Float64Array.from({ length: B * Tk }, (_, i) => (i < 10 ? -1 : i < Tk ? 0 : i % Tk < 60 ? 0 : 1));
    await check(dev, g, out(g, items), randomFeeds(g, 3, 4, { qs: Float64Array.from([0, 1]), ks: kseg }));
  });

  it('one query per head in f16 storage, and a head dim of 128 (fewer invocations share the keys)', async () => {
    const g = new Graph();
    const items: Record<string, Node> = {};
    for (const D of [16, 128]) {
      const q = g.input(`q${D}`, [1, 2, 1, D]), k = g.input(`k${D}`, [1, 2, 90, D]), v = g.input(`v${D}`, [1, 2, 90, D]);
      const qp = g.constant(`p${D}`, [1], Float64Array.from([70]), 'i32');
      // The attention output is an intermediate (f16 storage in f16 mode) read back by the scaling.
      items[`y${D}`] = g.mul(g.attention(q, k, v, { causal: true, qPos: qp }), g.scalar(2));
    }
    await check(dev, g, out(g, items), randomFeeds(g, 4, 4), 1e-5);
    const r = await check(dev, g, out(g, items), randomFeeds(g, 4, 4), 1e-2, 'f16');
    expect(r.program.kernels.some((k) => k.name === 'attention_decode' && k.wgsl.includes('f16'))).toBe(true);
  });

  it('KV cache: cache_write in place (assign) and cache_read', async () => {
    const g = new Graph();
    const cache = g.state('cache', [1, 2, 8, 4]);
    const x = g.input('x', [1, 2, 3, 4]), p = g.input('p', [1], 'i32');
    const nc = g.cacheWrite(cache, x, p);
    g.assign(cache, nc);
    const rd = g.op('cache_read', [nc, p], { len: 5 });
    const items = { rd, tot: g.sum(nc, [3]) };
    const feeds = randomFeeds(g, 2, 4, { p: Float64Array.from([6]) });     // rows 6..8: the last one past the cache
    for (const software of [false, true]) {
      const r = await check(dev, g, out(g, items), feeds, 1e-5, 'f32', { ...kernelCaps(dev.caps), software });
      if (!r.program.assigns.some((a) => a.inPlace)) throw new Error('cache_write was not done in place');
    }
  });
});
