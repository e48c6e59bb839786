// The part of autocannon 9's programmatic API that bench/rest-load.ts and bench/load/rest-load.ts use (it ships no types).
declare module 'autocannon' {
  interface Histogram {
    average: number;
    p50: number;
    p90: number;
    p99: number;
    max: number;
  }
  interface Options {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    requests?: Array<{
      method?: string;
      path?: string;
      body?: string;
      headers?: Record<string, string>;
      /** Called before each request; returns the request to send (e.g. the next body). */
      setupRequest?: (request: { method?: string; path?: string; body?: string; headers?: Record<string, string> }) => {
        method?: string;
        path?: string;
        body?: string;
        headers?: Record<string, string>;
      };
    }>;
    pipelining?: number;
    connections?: number;
    duration?: number;
    timeout?: number;
  }
  interface Result {
    requests: Histogram & { total: number };
    latency: Histogram;
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
