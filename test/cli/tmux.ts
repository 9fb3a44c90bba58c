/**
 * A real terminal for the CLI: a detached tmux session on a private socket (so no one else's tmux
 * server is touched), a fixed 120x30 window, and the screen read back with `capture-pane`.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Whether tmux runs here. Missing it skips the terminal tests locally but fails them under CI=true. */
export function haveTmux(): boolean {
  const ok = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
  if (!ok && process.env.CI === 'true') {
    throw new Error('tmux is not installed (apt-get install tmux); CI=true: failing instead of skipping the terminal tests');
  }
  if (!ok) console.warn('skipped: tmux is not installed (apt-get install tmux)');
  return ok;
}

/** `s` as one single-quoted shell word. */
export const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export interface TerminalRun {
  /** The screen now, wrapped lines joined, trailing blanks dropped (bars pad their line with spaces). */
  screen(): string;
  /** Polls the screen until `test` holds; answers that screen. */
  waitForScreen(test: (screen: string) => boolean, timeoutMs?: number): Promise<string>;
  /** The command's exit code, once it has exited (the wrapper prints `EXIT=<code>`). */
  exitCode(timeoutMs?: number): Promise<number>;
  sendKeys(...keys: string[]): void;
  close(): void;
}

/**
 * Runs `argv` (joined as a shell command line, `shellTail` appended unquoted, e.g. `| cat`) in a
 * fresh tmux session, with `env` added to the environment.
 */
export function runInTerminal(dir: string, argv: string[], env: Record<string, string>, shellTail = ''): TerminalRun {
  const socket = join(dir, 'tmux.sock');
  const conf = join(dir, 'tmux.conf');
  // remain-on-exit keeps the last screen readable after the command has exited.
  writeFileSync(conf, 'set -g remain-on-exit on\nset -g history-limit 5000\nset -g status off\n');
  const tmux = (...args: string[]) => {
    const r = spawnSync('tmux', ['-u', '-S', socket, '-f', conf, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr}`);
    return r.stdout;
  };
  const line = `${argv.map(shellQuote).join(' ')} ${shellTail}` + '; echo EXIT=${PIPESTATUS[0]}';
  tmux('new-session', '-d', '-s', 'ecg', '-x', '120', '-y', '30', 'bash', '--norc', '--noprofile', '-c', line);
  const screen = () => tmux('capture-pane', '-p', '-J', '-t', 'ecg', '-S', '-200').replace(/[ \t]+$/gm, '').replace(/\s+$/, '');
  const waitForScreen = async (test: (s: string) => boolean, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = screen();
      if (test(now)) return now;
      if (Date.now() > deadline) throw new Error(`the screen never matched; last screen:\n${now}`);
      await sleep(100);
    }
  };
  return {
    screen,
    waitForScreen,
    async exitCode(timeoutMs = 30_000) {
      const s = await waitForScreen((text) => /^EXIT=\d+$/m.test(text), timeoutMs);
      return Number(/^EXIT=(\d+)$/m.exec(s)![1]);
    },
    sendKeys: (...keys) => void tmux('send-keys', '-t', 'ecg', ...keys),
    close: () => void spawnSync('tmux', ['-S', socket, 'kill-server']),
  };
}
