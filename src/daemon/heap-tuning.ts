import v8 from 'node:v8';

/**
 * The old generation's growing factor for a serving process (V8's --heap-growing-percent).
 *
 * Why: each multi-megabyte answer makes the daemon allocate several ArrayBuffers of its size (the
 * IPC chunks from the runner and their join, grpc-js's framed copy of the message). V8 counts
 * the external bytes allocated since the last full GC against the old generation's limit, and it
 * sets that limit at 1.2-1.6 times the daemon's small live heap (about 25 MB). So under a stream
 * of 3 MiB answers a full mark-compact ran every two or three answers: 48 in 5 s on bench row 5,
 * and about two thirds of the daemon's CPU went to marking (perf). With a factor of 4 (V8's own
 * ceiling for small heaps), about 10 ran in the same time and the daemon's CPU per answer fell
 * from 23 to 9 ms. The live heap stays the same size; only the trigger moves, and idle memory is
 * still given back (memory-release.ts).
 */
export const HEAP_GROWING_PERCENT = 300;

/**
 * Sets the factor for this process. V8 reads the flag each time it computes a limit
 * (heap-controller.cc, CalculateAllocationLimit), so setting it once the process runs takes effect from the
 * next collection on; it cannot go in NODE_OPTIONS, which refuses it.
 */
export function tuneHeapForServing(percent = HEAP_GROWING_PERCENT): void {
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
