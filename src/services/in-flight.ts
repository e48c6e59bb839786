import { ModelMoraError } from '../domain/errors.js';

/**
 * The global in-flight cap (setting max_in_flight): requests being handled at once, REST and
 * gRPC together, across every model. Each model's queue has its own bound (max_queue_size, 429);
 * this one protects the daemon itself (sockets, parsed bodies, pending promises) when many
 * models are hit at once. Over the cap a request is answered at once, before its body is read,
 * with 503 SERVICE_UNAVAILABLE and Retry-After: the server is out of capacity, not the caller
 * over a quota, which is what 429 RATE_LIMIT_EXCEEDED tells. Probes (health) are never counted.
 */
export class InFlightLimit {
  private count = 0;

  constructor(
    readonly max: number,
    /** Told when a request starts and when nothing is in flight any more (the daemon's memory release). */
    private readonly listener?: { busy(): void; idle(): void },
  ) {}

  /** Takes a slot, or throws SERVICE_UNAVAILABLE; the returned function gives it back (once). */
  enter(): () => void {
    if (this.max > 0 && this.count >= this.max) {
      throw new ModelMoraError('SERVICE_UNAVAILABLE', `The server is handling ${this.max} requests, its limit; retry shortly`, {
        details: { max_in_flight: this.max, retry_after_seconds: 1 },
      });
    }
    this.count++;
    this.listener?.busy();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.count--;
      if (this.count === 0) this.listener?.idle();
    };
  }

  get inFlight(): number {
    return this.count;
  }
}
