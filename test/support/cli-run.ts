import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Runs the real CLI (`node bin/modelmora.js`) as a child process, the way a user does. */

// dist/test/support/cli-run.js -> <repo>/bin/modelmora.js
const BIN = fileURLToPath(new URL('../../../bin/modelmora.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliWorld {
  /** The project folder (cwd of every run). */
  dir: string;
  /** MODELMORA_HOME of every run. */
  home: string;
  run(args: readonly string[], extraEnv?: Record<string, string>): Promise<CliResult>;
  read(file: string): Promise<string>;
  write(file: string, text: string | Buffer): Promise<void>;
  exists(file: string): Promise<boolean>;
  cleanup(): Promise<void>;
}

/** A temp project and home; the child sees no MODELMORA_* or HF_* variable of the outer shell. */
export async function cliWorld(): Promise<CliWorld> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'modelmora-cli-'));
  const dir = path.join(root, 'project');
  const home = path.join(root, 'home');
  await fs.mkdir(dir);
  const baseEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(MODELMORA_|HF_)/.test(k)) baseEnv[k] = v;
  }
  return {
    dir,
    home,
    run: (args, extraEnv = {}) =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          [BIN, ...args],
          { cwd: dir, env: { ...baseEnv, MODELMORA_HOME: home, ...extraEnv }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            resolve({ code, stdout, stderr });
          },
        );
      }),
    read: (file) => fs.readFile(path.join(dir, file), 'utf8'),
    write: async (file, text) => {
      await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await fs.writeFile(path.join(dir, file), text);
    },
    exists: (file) => fs.stat(path.join(dir, file)).then(() => true, () => false),
    cleanup: () => fs.rm(root, { recursive: true, force: true }),
  };
}
