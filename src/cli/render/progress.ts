import cliProgress from 'cli-progress';
import type { PullEvent } from '../../store/model-store.js';
import { formatDuration } from '../../config/duration.js';
import { formatBytes } from './format.js';
import type { Output } from './output.js';

/**
 * Renders a pull's event stream: a bar per file in flight plus a total bar (bytes/s, ETA) on
 * a terminal, one plain line per fetched file when piped, nothing with --quiet or --json.
 */
export interface PullProgress {
  event(modelId: string, event: PullEvent): void;
  stop(): void;
}

export function createPullProgress(output: Output): PullProgress {
  if (output.options.quiet || output.options.json) return { event() {}, stop() {} };
  return output.interactive ? new BarProgress(output) : new LineProgress(output);
}

class LineProgress implements PullProgress {
  private sizes = new Map<string, number>();

  constructor(private readonly output: Output) {}

  event(modelId: string, event: PullEvent): void {
    switch (event.type) {
      case 'start':
        this.sizes = new Map(event.files.map((f) => [f.path, f.size]));
        break;
      case 'file':
        if (!event.cached) this.output.note(`pulled ${modelId} ${event.path} ${formatBytes(this.sizes.get(event.path) ?? 0)}`);
        break;
      case 'retry':
        this.output.note(`retrying ${modelId} ${event.path} (attempt ${event.attempt}): ${event.reason}`);
        break;
      default:
        break;
    }
  }

  stop(): void {}
}

type Bar = cliProgress.SingleBar;

class BarProgress implements PullProgress {
  private multibar: cliProgress.MultiBar | undefined;
  private total: Bar | undefined;
  private files = new Map<string, { bar: Bar; started: number }>();
  private sizes = new Map<string, number>();
  private started = 0;
  private startBytes = 0;

  constructor(private readonly output: Output) {}

  event(modelId: string, event: PullEvent): void {
    switch (event.type) {
      case 'start': {
        this.stop();
        this.sizes = new Map(event.files.map((f) => [f.path, f.size]));
        this.multibar = new cliProgress.MultiBar(
          {
            stream: this.output.stdout,
            format: ' {bar} {percentage}% | {name} | {done}/{size} | {speed} | ETA {eta}',
            barsize: 24,
            hideCursor: true,
            clearOnComplete: false,
            autopadding: true,
          },
          cliProgress.Presets.shades_classic,
        );
        const cachedBytes = event.files.filter((f) => f.cached).reduce((sum, f) => sum + f.size, 0);
        this.started = Date.now();
        this.startBytes = cachedBytes;
        this.total = this.multibar.create(Math.max(event.totalBytes, 1), cachedBytes, payload(modelId, cachedBytes, event.totalBytes, 0));
        break;
      }
      case 'progress': {
        if (!this.multibar || !this.total) return;
        let file = this.files.get(event.path);
        if (!file) {
          file = { bar: this.multibar.create(Math.max(event.fileSize, 1), 0, payload(event.path, 0, event.fileSize, 0)), started: Date.now() };
          this.files.set(event.path, file);
        }
        const now = Date.now();
        file.bar.update(event.fileBytes, payload(event.path, event.fileBytes, event.fileSize, rate(event.fileBytes, file.started, now)));
        this.total.update(event.doneBytes, payload(modelId, event.doneBytes, event.totalBytes, rate(event.doneBytes - this.startBytes, this.started, now)));
        break;
      }
      case 'file': {
        const file = this.files.get(event.path);
        if (file && this.multibar) {
          this.multibar.remove(file.bar);
          this.files.delete(event.path);
        }
        if (!event.cached) this.multibar?.log(`pulled ${modelId} ${event.path} ${formatBytes(this.sizes.get(event.path) ?? 0)}\n`);
        break;
      }
      case 'retry':
        this.multibar?.log(`retrying ${modelId} ${event.path} (attempt ${event.attempt}): ${event.reason}\n`);
        break;
      case 'done':
        this.stop();
        break;
    }
  }

  stop(): void {
    if (!this.multibar) return;
    // stop() drops lines still waiting in the log buffer; a last update() writes them.
    this.multibar.update();
    this.multibar.stop();
    this.multibar = undefined;
    this.total = undefined;
    this.files.clear();
  }
}

/**
 * cli-progress knows neither bytes nor a byte rate (its own ETA counts updates, not time),
 * so sizes, speed and ETA are computed here from wall time.
 */
function payload(name: string, done: number, size: number, bytesPerSecond: number): Record<string, string> {
  const left = Math.max(0, size - done);
  const eta = left === 0 ? '0s' : bytesPerSecond > 0 ? formatDuration((left / bytesPerSecond) * 1000) : '-';
  return { name, done: formatBytes(done), size: formatBytes(size), speed: `${formatBytes(bytesPerSecond)}/s`, eta };
}

function rate(bytes: number, since: number, now: number): number {
  const seconds = (now - since) / 1000;
  return seconds > 0.05 ? Math.max(0, bytes) / seconds : 0;
}
