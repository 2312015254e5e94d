/**
 * The shape of a validator generated at build time (ajv standalone code, scripts/build.mjs): no
 * program compiles a schema at run time. Each user casts its generated function to
 * `Validator<its type>`: the schema it was generated from is what makes the cast true.
 */
import type { ErrorObject } from 'ajv';

/** A generated validator: true when `data` matches (defaults filled in, in place); errors otherwise. */
export type Validator<T> = ((data: unknown) => data is T) & { errors?: ErrorObject[] | null };

/** A generated validator before it is given its type. */
export type GeneratedValidator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
