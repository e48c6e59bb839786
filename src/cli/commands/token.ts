import type { Command } from 'commander';
import { examples, globalsOf, type GlobalOptions } from '../global-options.js';

/**
 * `modelmora token create|ls|rm`: API tokens in <home>/tokens.json (or tokens_file). The file
 * holds salted hashes only; `create` prints the token once. A daemon reads the file at start
 * (its existence turns auth on) and again whenever it changes, so `rm` revokes at once.
 */
export function register(program: Command): void {
  const token = program
    .command('token')
    .description('API tokens for the daemon: create (printed once, stored hashed), list, remove')
    .addHelpText(
      'after',
      examples(['modelmora token create --scope inference --name ci', 'export MODELMORA_TOKEN=$(modelmora token create --scope admin -q)', 'modelmora token ls', 'modelmora token rm ci']),
    );

  token
    .command('create')
    .description('make a token with a scope (admin: everything; inference: infer, own jobs, status, reading models); prints it once')
    .requiredOption('--scope <scope>', 'admin or inference')
    .option('--name <name>', 'a name to list and remove it by (default <scope>-<6 hex digits>)')
    .action(async (flags: { scope: string; name?: string }, command: Command) => {
      const globals = globalsOf(command);
      const [{ createToken }, { isScope }, { validationError }, { outputFor }] = await Promise.all([
        import('../../auth/tokens-file.js'),
        import('../../auth/principal.js'),
        import('../../domain/errors.js'),
        import('../render/output-for.js'),
      ]);
      if (!isScope(flags.scope)) throw validationError([{ field: 'scope', message: 'must be admin or inference' }], '--scope must be admin or inference');
      const file = await tokensFile(globals);
      const { token: secret, info } = await createToken(file, { scope: flags.scope, ...(flags.name !== undefined && { name: flags.name }) });
      const output = outputFor(globals);
      output.data({ ...info, token: secret }, () => secret);
      if (!globals.quiet && !globals.json) {
        output.stderr.write(
          `created token ${info.name} (scope ${info.scope}); it is shown only now, and stored only as a hash.\n` +
            'Clients send it as Authorization: Bearer <token>; the CLI reads MODELMORA_TOKEN. A daemon started without any token must be restarted to turn auth on.\n',
        );
      }
    });

  token
    .command('ls')
    .alias('list')
    .description('list tokens: name, scope, created (never the token)')
    .action(async (_flags: unknown, command: Command) => {
      const globals = globalsOf(command);
      const [{ listTokens }, { formatTable }, { outputFor }] = await Promise.all([
        import('../../auth/tokens-file.js'),
        import('../render/format.js'),
        import('../render/output-for.js'),
      ]);
      const tokens = await listTokens(await tokensFile(globals));
      outputFor(globals).data(tokens, () =>
        tokens.length === 0
          ? 'no tokens (create one: modelmora token create --scope inference)'
          : formatTable(['NAME', 'SCOPE', 'CREATED'], tokens.map((t) => [t.name, t.scope, t.created_at])),
      );
    });

  token
    .command('rm')
    .alias('remove')
    .argument('<name>')
    .description('remove a token; a running daemon refuses it within a couple of seconds')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const globals = globalsOf(command);
      const [{ removeToken }, { outputFor }] = await Promise.all([import('../../auth/tokens-file.js'), import('../render/output-for.js')]);
      await removeToken(await tokensFile(globals), name);
      outputFor(globals).data({ removed: name }, () => `removed token ${name}`);
    });
}

/** tokens_file, else <home>/tokens.json, with --home / MODELMORA_HOME as the daemon resolves them. */
async function tokensFile(globals: GlobalOptions): Promise<string> {
  const [{ default: path }, { resolveSettings }, { tokensFilePath }] = await Promise.all([
    import('node:path'),
    import('../../config/config.js'),
    import('../../auth/authenticator.js'),
  ]);
  return tokensFilePath(resolveSettings(['home', 'tokens_file'], { flags: { ...(globals.home !== undefined && { home: path.resolve(globals.home) }) } }));
}
