// Example 1: the compiler as a library. Check a spec given as a string, lower it to the training-step graph
// (forward, loss, backward, AdamW), compile it to fused WGSL kernels, and print the kernel list and one
// kernel's WGSL. Pure compiler: no GPU, no file system.
//
//   npx tsx examples/01-compile-and-print-kernels.ts [--kernel NAME_SUBSTRING] [--all]

import {
  checkWithSources, countParams, hasErrors, lowerTrainStep, printGraph, render, renderDiagnostics, CPU_SAFE_CAPS,
  type Program,
} from '../compiler/index.js';

const SPEC = `mm 1
// A text-only decoder small enough to compile in a blink.
decoder small = transformer { vocab 96; width 32; depth 1; heads 2; ffn 64; rope 10000 }
model m { decoder small }
data d { text "corpus.txt" weight 1; seq_len 32 }
train { model m; data d; steps 100; batch 4; micro_batch 4; precision f32
        optimizer adamw { lr 1e-2; betas 0.9 0.95; weight_decay 0.0; clip 1.0 }
        schedule cosine { warmup 5; final 0.1 } }
`;

const args = process.argv.slice(2);
const pick = args.includes('--kernel') ? args[args.indexOf('--kernel') + 1] ?? 'matmul' : 'matmul';

// 1. Check: source → ResolvedSpec, with diagnostics (never an exception on bad input).
const checked = checkWithSources(SPEC, 'inline.mm');
if (!checked.value || hasErrors(checked.diagnostics)) {
  console.error(renderDiagnostics(checked.diagnostics, checked.sources, { color: false }));
  process.exit(1);
}
const spec = checked.value;
const params = countParams(spec.model);
console.log(`model ${spec.model.name}: ${params.total} parameters (${params.nonEmbedding} non-embedding)`);

// 2. Lower: ResolvedSpec → IR graph of one training step.
const graph = lowerTrainStep(spec);
console.log(`training-step graph: ${graph.nodes.length} nodes, ${graph.params().length} parameters, inputs ${graph.inputs().map((n) => n.name).join(' ')}`);
if (args.includes('--ir')) console.log(printGraph(graph));

// 3. Render: fuse, plan memory, emit WGSL (for WebGPU's default limits: any adapter can run it).
const program: Program = render(graph, ['loss', 'grad_norm'], CPU_SAFE_CAPS, 'f32');
const planned = (program.peakBytes / 1024).toFixed(1), unplanned = (program.tempBytesUnplanned / 1024).toFixed(1);
console.log(`program: ${program.kernels.length} kernels, ${program.buffers.length} buffers, ${planned} KiB after memory planning (temps alone would take ${unplanned} KiB)`);

// 4. The kernel list (name, dispatch size, how many IR nodes it fuses).
const shown = args.includes('--all') ? program.kernels : program.kernels.slice(0, 12);
for (const [i, k] of shown.entries()) {
  console.log(`  k${String(i).padEnd(4)} ${k.name.padEnd(28)} wg=[${k.workgroups.join(',')}]  fuses ${k.nodes.length} node(s)`);
}
if (shown.length < program.kernels.length) console.log(`  ... ${program.kernels.length - shown.length} more (--all lists them)`);

// 5. One kernel's WGSL.
const k = program.kernels.find((x) => x.name.includes(pick)) ?? program.kernels[0]!;
console.log(`\n// WGSL of kernel '${k.name}' (${k.ops.length} op(s): ${k.ops.slice(0, 3).join('; ')}${k.ops.length > 3 ? '; ...' : ''})`);
console.log(k.wgsl);
