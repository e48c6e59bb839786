import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

/**
 * fastify's schema validators, except that request bodies are not type-coerced. fastify's ajv
 * turns `display_name: 7` into "7" and `memory_mb: "12"` into 12, which a JSON body never needs
 * and which hides client bugs; querystrings and path params are text and keep their coercion
 * (`?page=2`). Built with the same compiler fastify uses (@fastify/ajv-compiler, loaded from
 * fastify's own dependencies), so shared schemas, formats and options behave as before.
 */

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
export type BuildValidator = NonNullable<CompilersFactory['buildValidator']>;
type RouteSchema = Parameters<ReturnType<BuildValidator>>[0];

const fromFastify = createRequire(import.meta.resolve('fastify'));
const AjvCompiler = fromFastify('@fastify/ajv-compiler') as () => BuildValidator;

export function validatorsWithoutBodyCoercion(): BuildValidator {
  const build = AjvCompiler();
  return (externalSchemas, options) => {
    const coercing = build(externalSchemas, options);
    const customOptions = { ...(options?.customOptions ?? {}), coerceTypes: false };
    const strict = build(externalSchemas, { ...options, customOptions } as Parameters<BuildValidator>[1]);
    return (route: RouteSchema) => (route.httpPart === 'body' ? strict(route) : coercing(route));
  };
}
