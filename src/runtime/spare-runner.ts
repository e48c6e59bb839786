import { fork, type ChildProcess } from 'node:child_process';
import { WARM_FLAG } from './messages.js';

/** How to start a runner process; shared by cold forks and spares. */
export interface ForkSpec {
  entry: string;
  execArgv: string[];
}

/**
 * V8 flags every runner gets, before the caller's own. A runner's JS allocations are short-lived
 * (token arrays, pooled vectors, IPC copies) while its large data lives outside the JS heap, so
 * a 2 MB semi-space (V8's default grows to 16 MB) keeps the young generation from holding ~8 MB
 * of garbage for the process' lifetime; measured on the demo model, the CPU per text stays the
 * same within noise (1 MB costs ~10%). Under bench row 3's load a 16 MB cap cut the runner's GC
 * time from 7.2 to 2.9 µs per request, at 30 MB more RSS that an idle runner kept.
 */
export const RUNNER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/**
 * glibc malloc tuning for runners (ignored by other C libraries). onnxruntime parses the graph
 * into buffers of 0.5-50 MB, copies the weights out and frees them; with glibc's default sliding
 * mmap threshold those frees raise the threshold, later buffers land in the heap and the holes
 * they leave are never returned: the MiniLM-cost runner kept ~28 MB it no longer used. A fixed
 * threshold keeps big buffers in their own mappings, unmapped on free. 512 KB leaves the demo
 * model's per-batch buffers (~256 KB) in the heap, so a batch pays no extra page faults.
 * A value the user exported wins.
 */
const RUNNER_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: String(512 * 1024) };

export function forkRunner(spec: ForkSpec, args: string[] = []): ChildProcess {
  return fork(spec.entry, args, {
    serialization: 'advanced',
    execArgv: [...RUNNER_NODE_FLAGS, ...spec.execArgv],
    env: { ...RUNNER_MALLOC_ENV, ...process.env },
    // stdout is unused; stderr is kept (a bounded tail) for the `cause` of load errors.
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
}

/** A runner process handed over to its first (and only) model. */
export interface TakenProcess {
  child: ChildProcess;
  /** It already said `booted`: its entry module runs. */
  booted: boolean;
}

interface Spare extends TakenProcess {
  onMessage(message: unknown): void;
}

/** Node handles that can keep the event loop alive, or let it go. */
interface Refable {
  ref?(): void;
  unref?(): void;
}

/**
 * Keeps at most one warm runner process ready: forked ahead of any load, it imports the runtime
 * while it waits, so a load only pays for its session. The spare is unreferenced (it never keeps
 * the daemon alive) and exits by itself if the daemon dies, because its IPC channel closes.
 * A spare that dies while idle is not replaced at once: the next load forks cold and refills.
 */
export class SpareKeeper {
  private spare: Spare | undefined;
  private refillTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly count: 0 | 1,
    private readonly forkSpec: ForkSpec,
  ) {}

  /** Pid of the idle spare, if one is alive. */
  get pid(): number | undefined {
    return this.spare && alive(this.spare.child) ? this.spare.child.pid : undefined;
  }

  /** The spare, referenced again and no longer watched here; undefined when none is alive. */
  take(): TakenProcess | undefined {
    const spare = this.spare;
    this.spare = undefined;
    if (!spare) return undefined;
    spare.child.off('message', spare.onMessage);
    if (!alive(spare.child)) return undefined;
    setRef(spare.child, true);
    return { child: spare.child, booted: spare.booted };
  }

  /** Forks a new spare soon (on an unreferenced timer) unless one exists or the keeper is closed. */
  refill(): void {
    if (this.count === 0 || this.closed || this.refillTimer || (this.spare && alive(this.spare.child))) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      if (this.closed || (this.spare && alive(this.spare.child))) return;
      this.spare = this.forkSpare();
    }, 0);
    this.refillTimer.unref();
  }

  /** No more spares; the idle one (if any) is killed and awaited. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
    const spare = this.spare;
    this.spare = undefined;
    if (!spare || !alive(spare.child)) return;
    const exited = new Promise<void>((resolve) => spare.child.once('exit', () => resolve()));
    // It holds no model and no request: nothing to drain. Referenced again so the wait for its
    // exit keeps the event loop alive.
    setRef(spare.child, true);
    spare.child.kill('SIGKILL');
    await exited;
  }

  private forkSpare(): Spare | undefined {
    let child: ChildProcess;
    try {
      child = forkRunner(this.forkSpec, [WARM_FLAG]);
    } catch {
      return undefined; // the next load forks cold and reports the real error
    }
    const spare: Spare = {
      child,
      booted: false,
      onMessage: (message: unknown) => {
        if ((message as { type?: unknown } | null)?.type === 'booted') spare.booted = true;
      },
    };
    child.on('error', () => undefined); // a failed spawn shows as a dead spare; take() skips it
    child.on('message', spare.onMessage);
    setRef(child, false);
    return spare;
  }
}

function alive(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null && child.connected;
}

function setRef(child: ChildProcess, ref: boolean): void {
  for (const handle of [child, child.channel, child.stderr] as Array<Refable | null | undefined>) {
    if (ref) handle?.ref?.();
    else handle?.unref?.();
  }
}
