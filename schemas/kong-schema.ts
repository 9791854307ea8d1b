/**
 * Provisional Kong schema array (module `Schema`). The schema work (#4) derives the full one from the single
 * schema source and keeps this export name.
 */
export const KONG_SCHEMA_FIELDS: ReadonlyArray<Record<string, unknown>> = [
  { targets: { type: 'array', required: true, elements: { type: 'record', fields: [] } } },
];
