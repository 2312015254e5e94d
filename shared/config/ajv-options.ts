/**
 * The options every validator is compiled with, at build time (scripts/build.mjs, ajv standalone
 * code): all errors collected, defaults from the schema filled in, strict schemas. Neither program
 * compiles a schema at run time. Lengths count UTF-16 code units (`unicode: false`), so the
 * generated code needs no ajv run-time helper.
 */
export const AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, unicode: false } as const;
