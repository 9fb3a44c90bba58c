/**
 * The contract check every test's traffic goes through.
 *
 * Each request a test sends to the backend, and each response it gets back, is checked against the
 * committed spec (each version's bundled backend document, server/generated/{v1.0,v1.1}/backend.openapi.json,
 * dereferenced by scripts/spec.ts) with an
 * independent JSON Schema validator (Ajv, draft 2020-12), not with the server's generated schemas:
 *
 * - the request is matched to an operation by method and path template; its path, query and header
 *   parameters and its JSON body are validated. A non-conforming request is only *recorded* (bad-input
 *   tests send them on purpose; mark those with {@link invalidRequest} to say so);
 * - the response's status must be documented for that operation in every version that has it, its
 *   JSON body must validate against that response's schema, `text/event-stream` events must carry a
 *   valid `JobStatusResponse`, and the headers that matter (ETag on getJobStatus 200/304, Retry-After
 *   on 429) must be there. A response that breaks the spec throws a {@link ContractViolation} inside
 *   the test that caused it, and is recorded, so the run fails even if the test swallowed the error.
 *
 * Every checked exchange is appended (JSON lines) to the run's records directory, which
 * test/contract/coverage.ts provides and reads at the end of the run to print the coverage table.
 *
 * The pieces live in test/support/contract/: spec.ts (the specs, their operations, route matching),
 * validate.ts (Ajv), checks.ts (request, response and event checks), records.ts (the records and
 * ContractViolation) and fetch.ts (the checked fetch); this module is what the tests import.
 */
export { checkRequest, checkResponse, checkStatusEvent, type RequestCheck } from './contract/checks.js';
export { type AppFetch, contractFetch, INVALID_REQUEST_HEADER, invalidRequest } from './contract/fetch.js';
export { type ContractRecord, ContractViolation, record } from './contract/records.js';
export { CONTRACT_VERSIONS, type ContractOperation, contractOperations, contractSpecs, type ContractVersion, isOutsideContract, matchRoute, type RouteMatch } from './contract/spec.js';
export { schemaProblems } from './contract/validate.js';
