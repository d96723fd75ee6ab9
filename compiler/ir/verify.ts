// Structural check of a graph, run after lowering and after every pass: each node's shape and dtype are
// re-inferred from its op's rule, inputs precede their users and belong to the graph, leaves are recorded
// consistently, and outputs/assigns point into the graph. Returns messages; empty means well formed.

import type { Node } from './node.js';
import type { Graph } from './graph.js';
import { hasOp, getOp } from '../ops/registry.js';
import { printNode } from './print.js';

const LEAF_OPS = new Set(['input', 'param', 'state', 'const']);

export function verifyGraph(g: Graph): string[] {
  const errs: string[] = [];
  const seen = new Set<Node>();
  const ids = new Set<number>();
  for (const n of g.nodes) {
    const where = printNode(n, g);
    if (ids.has(n.id)) errs.push(`duplicate id %${n.id}`);
    ids.add(n.id);
    for (const i of n.inputs) if (!seen.has(i)) errs.push(`${where}: input %${i.id} does not precede it in this graph`);
    if (LEAF_OPS.has(n.op)) {
      const info = g.leaves.get(n);
      if (!info) errs.push(`${where}: leaf not recorded in graph.leaves`);
      else if (info.kind !== n.op) errs.push(`${where}: leaf kind '${info.kind}' differs from op`);
      if (n.inputs.length) errs.push(`${where}: leaf with inputs`);
      if (!n.name || g.byName.get(n.name) !== n) errs.push(`${where}: leaf not found by its name`);
      if (info?.kind === 'const' && info.value && info.value.length !== n.shape.reduce((a, b) => a * b, 1)) errs.push(`${where}: constant has ${info.value.length} values`);
    } else if (!hasOp(n.op)) {
      errs.push(`${where}: unknown op '${n.op}'`);
    } else {
      const r = getOp(n.op).infer(n.inputs, n.attrs);
      if (typeof r === 'string') errs.push(`${where}: ${r}`);
      else if (r.dtype !== n.dtype || r.shape.join() !== n.shape.join()) errs.push(`${where}: re-inferred ${r.dtype}[${r.shape.join(', ')}]`);
    }
    seen.add(n);
  }
  for (const leaf of g.leaves.keys()) if (!seen.has(leaf)) errs.push(`leaf "${leaf.name}" is not in graph.nodes`);
  for (const [name, n] of g.outputs) if (!seen.has(n)) errs.push(`output '${name}' is not in the graph`);
  for (const [t, v] of g.assigns) {
    if (!seen.has(v)) errs.push(`assign "${t.name}": value is not in the graph`);
    if (t.shape.join() !== v.shape.join() || t.dtype !== v.dtype) errs.push(`assign "${t.name}": ${v.dtype}[${v.shape}] into ${t.dtype}[${t.shape}]`);
  }
  return errs;
}

/** Short alias used by the pipeline (compiler/compile.ts). */
export const verify = verifyGraph;
