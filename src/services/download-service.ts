import { ModelMoraError } from '../domain/errors.js';
import type { Registry } from '../store/registry.js';

/** Fetches a model's files into the cache (ModelStore.pull behind it); honours the signal. */
export type DownloadPort = (modelId: string, signal: AbortSignal) => Promise<void>;

/**
 * Downloads started by an API call: they answer 202 at once and run on, and the registry goes
 * downloading -> ready, or failed with a message a user may read. Every skin shares this one
 * service, so each sees (and can cancel) the others' downloads; the registry's startDownload()
 * makes sure one model never downloads twice at a time.
 */
export class DownloadService {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void>; error?: unknown }>();

  constructor(
    private readonly registry: Registry,
    private readonly download: DownloadPort,
    private readonly onError: (modelId: string, err: unknown) => void = () => undefined,
  ) {}

  /** `started` is false when a download of this model was already running. */
  async start(modelId: string): Promise<{ started: boolean }> {
    const { started } = await this.registry.startDownload(modelId);
    if (!started) return { started: false };
    const controller = new AbortController();
    const entry: { controller: AbortController; done: Promise<void>; error?: unknown } = { controller, done: Promise.resolve() };
    entry.done = this.run(modelId, controller.signal, entry).finally(() => this.running.delete(modelId));
    this.running.set(modelId, entry);
    return { started: true };
  }

  /**
   * The model's files now (a first request needs them): joins the download that runs, or starts
   * one, and rejects with its error if it fails. The registry shows it as any other download.
   */
  async fetch(modelId: string): Promise<void> {
    if (!this.running.has(modelId)) {
      const { started } = await this.start(modelId);
      // The registry says downloading but nothing here runs it (a record left by a crash): fetch without the states.
      if (!started && !this.running.has(modelId)) return this.download(modelId, new AbortController().signal);
    }
    const running = this.running.get(modelId);
    if (!running) return;
    await running.done;
    if (running.error !== undefined) throw running.error;
  }

  isRunning(modelId: string): boolean {
    return this.running.has(modelId);
  }

  /** Resolves once every download running now has finished (whatever the outcome). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Aborts this model's download, if one runs, and waits for it to record its outcome. */
  async cancel(modelId: string): Promise<void> {
    const running = this.running.get(modelId);
    if (!running) return;
    running.controller.abort();
    await running.done;
  }

  /** Aborts every running download and waits for them to record their outcome. */
  async stop(): Promise<void> {
    for (const r of this.running.values()) r.controller.abort();
    await this.idle();
  }

  private async run(modelId: string, signal: AbortSignal, outcome: { error?: unknown }): Promise<void> {
    try {
      await this.download(modelId, signal);
      await this.registry.setStatus(modelId, 'ready');
    } catch (err) {
      outcome.error = err;
      this.onError(modelId, err);
      const message = signal.aborted
        ? 'Download cancelled'
        : err instanceof ModelMoraError
          ? err.message
          : 'Download failed';
      // The model may have been deleted meanwhile; nothing is left to mark then.
      await this.registry.setStatus(modelId, 'failed', message).catch(() => undefined);
    }
  }
}
