// Bundles examples/browser/main.ts (and with it the whole compiler, from compiler/index.ts) for the browser
// into examples/browser/dist/main.js with esbuild. Fails if the bundle would pull in a Node built-in, which
// is how the rule "compiler/ imports nothing native" is enforced.
//
//   npx tsx scripts/build-browser-example.ts

import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildBrowserExample(outfile = join(ROOT, 'examples/browser/dist/main.js')): Promise<{ outfile: string; bytes: number; inputs: string[] }> {
  const result = await build({
    entryPoints: [join(ROOT, 'examples/browser/main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',                 // a classic script, so index.html also works from file://
    target: 'es2022',
    outfile,
    metafile: true,
    minify: true,
    sourcemap: true,
    logLevel: 'silent',
    absWorkingDir: ROOT,
  });
  const inputs = Object.keys(result.metafile.inputs);
  const bad = inputs.filter((f) => f.startsWith('node:') || f.startsWith('runtime/'));
  if (bad.length) throw new Error(`the browser bundle pulls in ${bad.join(', ')}: compiler/ must not import node: modules or runtime/`);
  const bytes = Object.values(result.metafile.outputs).reduce((a, o) => a + (o.bytes ?? 0), 0);
  return { outfile, bytes, inputs };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildBrowserExample().then(
    (r) => console.log(`wrote ${r.outfile} (${(r.bytes / 1024).toFixed(0)} KiB with source map, ${r.inputs.length} modules)`),
    (e: Error) => { console.error(e.message); process.exit(1); },
  );
}
