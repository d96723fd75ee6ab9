// Readable text form of the IR, one node per line, for `mm compile --emit ir|grad` and golden files:
//   %3 = param "decoder.wq" : f32[64, 64]
//   %12 = matmul(%3, %7) {transB} : f32[4, 64]
// True booleans print as bare flags, false ones are omitted; outputs and assigns close the listing.

import type { Attrs, AttrValue, Node } from './node.js';
import type { Graph } from './graph.js';

function attrText(k: string, v: AttrValue): string | null {
  if (v === false || v === null) return null;
  if (v === true) return k;
  if (Array.isArray(v)) return `${k}=[${v.join(', ')}]`;
  return `${k}=${typeof v === 'string' ? v : String(v)}`;
}

export function attrsText(a: Attrs): string {
  const parts = Object.keys(a).sort().map((k) => attrText(k, a[k]!)).filter((s): s is string => s !== null);
  return parts.length ? ` {${parts.join(', ')}}` : '';
}

/** One node: leaves show their kind and name, ops their inputs and attributes. */
export function printNode(n: Node, g?: Graph): string {
  const ty = `${n.dtype}[${n.shape.join(', ')}]`;
  if (n.inputs.length === 0 && n.name !== undefined) {
    const info = g?.leaves.get(n);
    const init = info?.init ? ` init=${info.init.kind}${info.init.kind === 'normal' ? `(${info.init.std})` : info.init.kind === 'const' ? `(${info.init.value})` : ''}` : '';
    const frozen = info?.trainable === false ? ' frozen' : '';
    return `%${n.id} = ${n.op} "${n.name}"${init}${frozen} : ${ty}`;
  }
  if (n.op === 'scalar') return `%${n.id} = scalar ${String(n.attrs.value)} : ${ty}`;
  return `%${n.id} = ${n.op}(${n.inputs.map((i) => `%${i.id}`).join(', ')})${attrsText(n.attrs)} : ${ty}`;
}

/** The whole graph (or just the nodes that `roots` depend on), then outputs and assigns. */
export function printGraph(g: Graph, roots?: readonly Node[]): string {
  let keep: Set<Node> | null = null;
  if (roots) {
    keep = new Set();
    const stack = [...roots];
    while (stack.length) { const n = stack.pop()!; if (!keep.has(n)) { keep.add(n); stack.push(...n.inputs); } }
  }
  const lines = g.nodes.filter((n) => !keep || keep.has(n)).map((n) => printNode(n, g));
  for (const [name, n] of g.outputs) if (!keep || keep.has(n)) lines.push(`output ${name} = %${n.id}`);
  for (const [t, v] of g.assigns) if (!keep || keep.has(v)) lines.push(`assign "${t.name}" = %${v.id}`);
  return lines.join('\n');
}
