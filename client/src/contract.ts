/**
 * What the client may use of the shared contract (`@mailpage/contract` points here in client/tsconfig.json):
 * every type, and only the pure helpers the UI runs. The contract's zod schemas stay on the server, so zod is not
 * bundled into the browser (its schemas are module-level calls a bundler cannot drop).
 */
export type * from '../../libs/contract/src/index';
export { formatMailbox, headerSafetyProblem, parseMailbox } from '../../libs/contract/src/address';
export { forbiddenCssConstruct, FOOTER_PLACEHOLDERS } from '../../libs/contract/src/css-rules';
export { normaliseDomainEntry } from '../../libs/contract/src/domains';
