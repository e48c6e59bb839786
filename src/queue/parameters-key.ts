/**
 * A stable text key for request parameters: equal parameters give equal keys whatever the key
 * order, so only requests that agree on e.g. `normalize` share a runner call.
 */
export function parametersKey(parameters: Record<string, unknown>): string {
  return JSON.stringify(sortKeys(parameters));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
