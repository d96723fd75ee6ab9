// The one place the language front end touches the file system. It reaches `node:fs` through
// `process.getBuiltinModule` (no static import), so bundling the compiler for a browser still works; there
// callers pass their own `readFile` and `cwd`.

type Fs = { readFileSync(p: string, enc: 'utf8'): string; statSync(p: string): { isFile(): boolean } };

function fs(): Fs | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.('node:fs') as Fs | undefined;
}

/** Reads a UTF-8 file; undefined when it does not exist or is not a regular file. Never throws. */
export function readFileFromDisk(absPath: string): string | undefined {
  try {
    const f = fs();
    if (!f || !f.statSync(absPath).isFile()) return undefined;
    return f.readFileSync(absPath, 'utf8');
  } catch {
    return undefined;
  }
}

export function currentDir(): string {
  const proc = (globalThis as { process?: { cwd?: () => string } }).process;
  try { return proc?.cwd?.() ?? '/'; } catch { return '/'; }
}
