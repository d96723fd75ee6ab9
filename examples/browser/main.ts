// Example 4 (browser): the compiler bundled for a web page. Every edit of the textarea re-checks the spec
// and renders its diagnostics (file:line:col, caret, hint) or, when it is valid, its sizes; a button compiles
// it to WGSL kernels. Bundled by scripts/build-browser-example.ts into examples/browser/dist/main.js.
// `?spec=...` in the URL preloads a spec (through the same input event as typing).

import { checkWithSources, countParams, emit, flopsPerToken, hasErrors, renderDiagnostics, type CheckOptions } from '../../compiler/index.js';

const INITIAL = `mm 1
// Edit me: try \`widht 32\`, \`heads 5\`, or \`top_k 9\` in a moe block.
encoder vit_tiny = vit { image 32; patch 8; width 32; depth 1; heads 2; mlp 64 }
connector conn = avg_pool { tokens 4 }
decoder llm = transformer { vocab 512; width 64; depth 2; heads 4; kv_heads 2; ffn 128; rope 10000 }
model tiny { encoder vit_tiny; connector conn; decoder llm }
`;

const FILE = 'editor.mm';
/** No file system in a browser: imports resolve against this (empty) map, the project root is '/'. */
const OPTIONS: CheckOptions = { readFile: () => undefined, projectRoot: '/' };

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const editor = $<HTMLTextAreaElement>('spec');
const status = $<HTMLParagraphElement>('status');
const diagnostics = $<HTMLPreElement>('diagnostics');
const output = $<HTMLPreElement>('output');

const fmt = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} K` : String(n));

function update(): void {
  const source = editor.value;
  const r = checkWithSources(source, FILE, OPTIONS);
  const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
  diagnostics.textContent = r.diagnostics.length ? renderDiagnostics(r.diagnostics, r.sources, { color: false }) : '';
  output.textContent = '';
  if (!r.value || hasErrors(r.diagnostics)) {
    status.className = 'error';
    status.textContent = `${errors} error${errors === 1 ? '' : 's'}`;
    return;
  }
  const p = countParams(r.value.model), f = flopsPerToken(r.value.model);
  status.className = 'ok';
  status.textContent = `ok — model ${r.value.model.name}: ${fmt(p.total)} parameters (${fmt(p.nonEmbedding)} non-embedding), ` +
    `${fmt(f.decoderPerToken)} decoder FLOPs per token`;
}

function showKernels(): void {
  const r = emit(editor.value, FILE, 'kernels', OPTIONS);
  output.textContent = r.value ?? r.diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n');
}

let timer: ReturnType<typeof setTimeout> | undefined;
editor.addEventListener('input', () => {
  clearTimeout(timer);
  timer = setTimeout(update, 150);
});
$<HTMLButtonElement>('kernels').addEventListener('click', showKernels);

const preset = new URLSearchParams(location.search).get('spec');
editor.value = preset ?? INITIAL;
if (preset !== null) editor.dispatchEvent(new Event('input'));
else update();
