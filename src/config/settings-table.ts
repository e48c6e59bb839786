import { SETTINGS, flagName, type Setting } from './settings.js';

/** The settings table as Markdown: the README's "Settings" section is this output, verbatim. */
export function settingsMarkdown(): string {
  const rows = (SETTINGS as readonly Setting[]).map((s) => {
    const shown =
      s.key === 'home'
        ? '`~/.modelmora`'
        : s.key === 'memory_budget_mb'
          ? 'half of RAM'
          : s.default === null || (Array.isArray(s.default) && s.default.length === 0)
            ? '—'
            : `\`${Array.isArray(s.default) ? s.default.join(',') : String(s.default)}\``;
    const env = s.env.map((e) => `\`${e}\``).join(', ');
    // Secrets have no flag (a flag would show in `ps` and shell history).
    const flag = s.secret ? '—' : `\`${flagName(s.key)}\``;
    const type = s.min !== undefined || s.max !== undefined ? `${s.type} ${s.min ?? 0}..${s.max ?? ''}` : s.type;
    return `| \`${s.key}\` | ${flag} | ${env} | ${type} | ${shown} | ${s.doc} |`;
  });
  return [
    '| `server:` key | flag | environment | type | default | what it does |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
