// A minimal headless-Chromium driver for the browser example's test: launches Debian's `chromium` with the
// DevTools protocol over a pipe (--remote-debugging-pipe: JSON messages separated by NUL on fds 3 and 4), so
// it needs no WebSocket client and no open port. Just enough protocol to open a page, type, and read the DOM.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** The Chromium binary: $CHROMIUM, else the first of chromium / chromium-browser / google-chrome on PATH. */
export function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 20_000 });
    if (r.status === 0 && /chrom/i.test(r.stdout)) return c;
  }
  return undefined;
}

type Pending = { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void };

export class Chromium {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffer = '';
  private sessionId: string | undefined;
  stderr = '';

  private constructor(private readonly proc: ChildProcess, private readonly profile: string) {
    const out = proc.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      this.buffer += chunk;
      let i: number;
      while ((i = this.buffer.indexOf('\0')) >= 0) {
        const msg = JSON.parse(this.buffer.slice(0, i)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
        this.buffer = this.buffer.slice(i + 1);
        const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
        if (!p) continue;
        this.pending.delete(msg.id!);
        if (msg.error) p.reject(new Error(msg.error.message)); else p.resolve(msg.result ?? {});
      }
    });
    proc.stderr?.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    proc.on('exit', () => { for (const p of this.pending.values()) p.reject(new Error(`chromium exited\n${this.stderr.slice(-2000)}`)); this.pending.clear(); });
  }

  static async launch(bin: string): Promise<Chromium> {
    const profile = mkdtempSync(join(tmpdir(), 'mm-chromium-'));
    const proc = spawn(bin, [
      '--headless', '--disable-gpu', '--no-sandbox', '--remote-debugging-pipe', `--user-data-dir=${profile}`,
      '--no-first-run', '--no-default-browser-check', '--allow-file-access-from-files', 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    const browser = new Chromium(proc, profile);
    const { targetId } = await browser.send('Target.createTarget', { url: 'about:blank' }) as { targetId: string };
    const { sessionId } = await browser.send('Target.attachToTarget', { targetId, flatten: true }) as { sessionId: string };
    browser.sessionId = sessionId;
    return browser;
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const msg: Record<string, unknown> = { id, method, params };
    if (this.sessionId && !method.startsWith('Target.')) msg.sessionId = this.sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      (this.proc.stdio[3] as Writable).write(JSON.stringify(msg) + '\0');
    });
  }

  /** Evaluates an expression in the page; returns its value (JSON-able). */
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }) as { result: { value: T }; exceptionDetails?: { text: string } };
    if (r.exceptionDetails) throw new Error(`page error: ${r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** Polls `expression` until it returns a truthy value (or times out with the last value). */
  async waitFor<T>(expression: string, timeoutMs = 20_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    let v: T;
    do {
      v = await this.eval<T>(expression);
      if (v) return v;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < end);
    throw new Error(`timed out waiting for ${expression} (last value: ${JSON.stringify(v)})`);
  }

  async goto(url: string): Promise<void> {
    await this.send('Page.enable');
    await this.send('Page.navigate', { url });
    await this.waitFor<boolean>(`document.readyState === 'complete' && location.href === ${JSON.stringify(url)}`);
  }

  /** Types text as keyboard input into the focused element (fires `input` events like a user). */
  async type(text: string): Promise<void> { await this.send('Input.insertText', { text }); }

  async close(): Promise<void> {
    try { await Promise.race([this.send('Browser.close'), new Promise((r) => setTimeout(r, 3000))]); } catch { /* already gone */ }
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    try { rmSync(this.profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }); } catch { /* a leftover temp profile is harmless */ }
  }
}
