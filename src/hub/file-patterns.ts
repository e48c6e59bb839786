/**
 * `files:` patterns with the meaning huggingface_hub gives allow_patterns (fnmatch): `*`
 * matches anything, `/` included, so `*.json` also picks `onnx/config.json`; `?` one
 * character; `[abc]` a class; a pattern ending in `/` means everything under that folder.
 */
export function patternToRegExp(pattern: string): RegExp {
  const glob = pattern.endsWith('/') ? `${pattern}*` : pattern;
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      out += `[${body}]`;
      i = end;
    } else out += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 's');
}

/** No patterns (or an empty list) keeps every file. */
export function fileFilter(patterns: readonly string[] | undefined): (path: string) => boolean {
  if (!patterns || patterns.length === 0) return () => true;
  const res = patterns.map(patternToRegExp);
  return (path) => res.some((re) => re.test(path));
}
