/** Parses a text/event-stream body into [event, data] pairs (comments dropped, data as JSON). */
export function parseSse(body: string): Array<[string, unknown]> {
  return body
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':'))
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
      return [event, JSON.parse(data) as unknown];
    });
}
