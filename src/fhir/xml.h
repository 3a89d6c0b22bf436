/*
 * xml.h - FHIR XML to the JSON form (R4 "XML Representation" and "JSON
 * Representation" rules), so that everything behind the parser sees one form.
 *
 * The model tables (model.h) say which elements repeat (JSON arrays), which are
 * primitives (value attribute; booleans and numbers become JSON literals) and
 * which name a type in a choice (valueString).  Element ids and extensions of
 * primitives go to the "_name" sibling, with nulls aligned in arrays.  The
 * xhtml div is kept as its XML text.  Resources inside resources (contained,
 * Bundle.entry.resource, Parameters.parameter.resource) are unwrapped.
 *
 * libxml2 parses with no network access, no entity expansion and no DTD
 * loading (XXE), and limits of its own on depth; a document type declaration is
 * refused.  Unknown elements, attributes, or text where FHIR has none are
 * errors with the path ("Patient.name[0].given[1]") in out.
 * Depends on fhir/model.h, fhir/outcome.h, libxml2 and jansson.
 */
#ifndef SV_FHIR_XML_H
#define SV_FHIR_XML_H

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"
#include "fhir/outcome.h"

/* Converts len bytes of FHIR XML; on success *ret_json is a new reference. */
sv_err sv_fhir_xml_to_json(const char *text, size_t len, json_t **ret_json, sv_outcome *out);

/* True when a Content-Type names FHIR XML (application/fhir+xml, application/xml, text/xml). */
bool sv_fhir_xml_media(const char *content_type);

#endif
