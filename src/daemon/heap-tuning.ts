import v8 from 'node:v8';

/**
 * The old generation's growing factor for a serving process (V8's --heap-growing-percent).
 *
 * Why: each multi-megabyte answer makes the daemon allocate several ArrayBuffers of its size (the
 * IPC chunks from the runner and their join, grpc-js's framed copy of the message). V8 counts
 * the external bytes allocated since the last full GC against the old generation's limit, and it
 * sets that limit at 1.2-1.6 times the daemon's small live heap (about 25 MB). So under a stream
 * of 3 MiB answers a full mark-compact ran every two or three answers and marking took most of
 * the daemon's CPU. A factor of 4 (V8's own ceiling for small heaps) moves only the trigger: the
 * live heap stays the same size, and idle memory is still given back (memory-release.ts).
 * Figures: bench/FINDINGS.md.
 */
export const HEAP_GROWING_PERCENT = 300;

/**
 * Sets the factor for this process, and turns off V8's allocation-site pretenuring: under steady
 * load V8 judged the per-request objects of node's HTTP/2 and grpc-js (streams, calls, metadata)
 * long-lived, because 64 requests are always in flight, and allocated them straight in the old
 * generation, where they died: every scavenge then scanned their pointers into the young
 * generation, and a full GC ran every second or so (figures: bench/FINDINGS.md).
 *
 * V8 reads both flags as it goes (heap-controller.cc, CalculateAllocationLimit; the pretenuring
 * decisions at each GC), so setting them once the process runs takes effect from the next
 * collection on; NODE_OPTIONS refuses both.
 */
export function tuneHeapForServing(percent = HEAP_GROWING_PERCENT): void {
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
