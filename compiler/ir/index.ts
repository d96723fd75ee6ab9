// The IR's public face: node types, the Graph builder, verify and print. Importing it registers every op
// (compiler/ops/index.ts), so a Graph built from here can always infer shapes.

import '../ops/index.js';
export * from './node.js';
export * from './graph.js';
export { verifyGraph, verify } from './verify.js';
export { printGraph, printNode, attrsText } from './print.js';
export { initLeaf } from './init.js';
