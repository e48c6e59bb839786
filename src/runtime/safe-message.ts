/**
 * Error text from onnxruntime and transformers.js quotes the files it tried ("file was not found
 * locally at /home/..."). Messages reach API users, so absolute paths are cut out here: the
 * model folder becomes "<model>", any other absolute path "<path>".
 */
const ABSOLUTE_PATH = /(^|[\s"'`(=:,[])((?:[A-Za-z]:)?[\\/][^\s"'`),\]]*)/g;
const MAX_LENGTH = 300;

export function safeMessage(text: string, folder?: string): string {
  let out = text;
  if (folder) out = out.split(folder).join('<model>');
  out = out.replace(ABSOLUTE_PATH, (_match, lead: string) => `${lead}<path>`);
  out = out.replace(/\s+/g, ' ').trim();
  return out.length > MAX_LENGTH ? `${out.slice(0, MAX_LENGTH - 3)}...` : out;
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : 'unknown error';
}
