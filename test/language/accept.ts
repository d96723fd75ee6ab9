// Rewrites the golden .expected files of test/language/invalid/ from the current compiler output.
// Run after a deliberate change to a diagnostic (`npm run accept`), then review the diff.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { expectedPath, listCases, runCase } from './golden.js';

let changed = 0;
for (const name of listCases()) {
  const { text } = runCase(name);
  const path = expectedPath(name);
  if (!existsSync(path) || readFileSync(path, 'utf8') !== text) {
    writeFileSync(path, text);
    changed++;
    console.log(`accepted ${name}`);
  }
}
console.log(`${changed} golden file${changed === 1 ? '' : 's'} updated`);
