#!/usr/bin/env python3
"""make.py - writes the MedCom test messages of this folder (ours, written from the
MedCom HospitalNotification, CareCommunication and Acknowledgement IGs and the
"Overview of HospitalNotification codes"), so that the tests do not rest on the
shared vectors alone.  Run it after changing it; its output is committed.

Stay A (CPR 0101401234, born 1940-01-01, female): STIN, STOR, SLOR, RE_STIN,
SLHJ, AN_SLHJ.  Stay B (CPR 1503551235, male): STIN, STOR, MORS, AN_MORS.  Stay C:
STAA, AN_STAA.  Thread T: a new CareCommunication with a PDF attachment and
its reply.  invalid/: messages that must get a fatal-error acknowledgement,
each with the expression the OperationOutcome must name (expect.json)."""
import copy, json, os

HERE = os.path.dirname(os.path.abspath(__file__))
EV = "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-eventCodes"
ACT = "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-activityCodes"
HN = "http://medcomfhir.dk/ig/hospitalnotification/StructureDefinition/"
CC = "http://medcomfhir.dk/ig/carecommunication/StructureDefinition/"
CPR = "urn:oid:1.2.208.176.1.2"
SOR = "urn:oid:1.2.208.176.1.1"
HOSP = "0a0a0a0a-0000-4000-8000-000000000001"
KOMMUNE = "0a0a0a0a-0000-4000-8000-000000000002"

def org(oid, sor, name):
    return {"resourceType": "Organization", "id": oid,
            "meta": {"profile": ["http://medcomfhir.dk/ig/messaging/StructureDefinition/medcom-messaging-organization"]},
            "identifier": [{"system": SOR, "value": sor}], "name": name}

def patient(pid, cpr, family, birth, gender, deceased=None):
    p = {"resourceType": "Patient", "id": pid,
         "meta": {"profile": ["http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-patient"]},
         "identifier": [{"system": CPR, "value": cpr}],
         "name": [{"use": "official", "family": family, "given": ["Test"]}],
         "gender": gender, "birthDate": birth}
    if deceased:
        p["deceasedDateTime"] = deceased
    return p

def header(hid, event, focus):
    return {"resourceType": "MessageHeader", "id": hid,
            "meta": {"profile": [HN + "medcom-hospitalNotification-messageHeader"]},
            "eventCoding": {"system": EV, "code": event},
            "destination": [{"extension": [{"url": "http://medcomfhir.dk/ig/messaging/StructureDefinition/medcom-messaging-destinationUseExtension",
                                             "valueCoding": {"system": "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-destinationUse", "code": "primary"}}],
                             "endpoint": "https://sor2.sum.dsdn.dk/#id=953741000016009",
                             "receiver": {"reference": "Organization/" + KOMMUNE}}],
            "sender": {"reference": "Organization/" + HOSP},
            "source": {"endpoint": "https://sor2.sum.dsdn.dk/#id=265161000016000"},
            "focus": [{"reference": focus}]}

def provenance(pid, hid, activity, when, about=None, role="revision"):
    p = {"resourceType": "Provenance", "id": pid,
         "meta": {"profile": ["http://medcomfhir.dk/ig/messaging/StructureDefinition/medcom-messaging-provenance"]},
         "target": [{"reference": "MessageHeader/" + hid}],
         "occurredDateTime": when, "recorded": when,
         "activity": {"coding": [{"system": ACT, "code": activity}]},
         "agent": [{"who": {"reference": "Organization/" + HOSP}}]}
    if about:
        p["entity"] = [{"role": role, "what": {"reference": "MessageHeader/" + about}}]
    return p

def hn(n, stay, pat, activity, status, cls, period, when, about=None, role="revision", leave=None):
    hid = "%s0000000-0000-4000-8000-%012d" % (stay.lower(), n)
    eid = "%s1111111-0000-4000-8000-%012d" % (stay.lower(), n)
    enc = {"resourceType": "Encounter", "id": eid,
           "meta": {"profile": [HN + "medcom-hospitalNotification-encounter"]},
           "status": status,
           "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": cls},
           "subject": {"reference": "Patient/" + pat["id"]},
           "episodeOfCare": [{"identifier": {"system": "https://sor2.sum.dsdn.dk/#id=265161000016000", "value": "episode-" + stay}}],
           "period": period,
           "serviceProvider": {"reference": "Organization/" + HOSP}}
    if leave:
        enc["extension"] = [{"url": HN + "medcom-hospitalnotifiation-leave-period-extension", "valuePeriod": leave}]
    b = {"resourceType": "Bundle", "id": "b" + hid[1:],
         "meta": {"profile": [HN + "medcom-hospitalNotification-message"]},
         "type": "message", "timestamp": when,
         "entry": []}
    for r in [header(hid, "hospital-notification-message", "Encounter/" + eid), pat, enc,
              org(HOSP, "265161000016000", "Medicinsk afdeling, Testhospital"),
              org(KOMMUNE, "953741000016009", "Hjemmeplejen, Testkommune"),
              provenance("p" + hid[1:], hid, activity, when, about, role)]:
        b["entry"].append({"fullUrl": "%s/%s" % (r["resourceType"], r["id"]), "resource": r})
    return b, hid

def write(name, bundle):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(bundle, f, indent=1, ensure_ascii=False)
        f.write("\n")

A = patient("pa", "0101401234", "Andersen", "1940-01-01", "female")
start = "2026-01-05T10:00:00+01:00"
stin, h_stin = hn(1, "A", A, "admit-inpatient", "in-progress", "IMP", {"start": start}, start)
write("a1_stin.json", stin)
stor, h_stor = hn(2, "A", A, "start-leave-inpatient", "onleave", "IMP", {"start": start}, "2026-01-06T14:00:00+01:00", h_stin, leave={"start": "2026-01-06T14:00:00+01:00"})
write("a2_stor.json", stor)
slor, h_slor = hn(3, "A", A, "end-leave-inpatient", "in-progress", "IMP", {"start": start}, "2026-01-07T16:00:00+01:00", h_stor, leave={"start": "2026-01-06T14:00:00+01:00", "end": "2026-01-07T16:00:00+01:00"})
write("a3_slor.json", slor)
re_stin, h_re = hn(4, "A", A, "revise-admit-inpatient", "in-progress", "IMP", {"start": "2026-01-05T09:30:00+01:00"}, "2026-01-07T17:00:00+01:00", h_stin)
write("a4_re_stin.json", re_stin)
slhj, h_slhj = hn(5, "A", A, "discharge-inpatient-home", "finished", "IMP", {"start": "2026-01-05T09:30:00+01:00", "end": "2026-01-09T11:00:00+01:00"}, "2026-01-09T11:00:00+01:00", h_re)
write("a5_slhj.json", slhj)
an_slhj, _ = hn(6, "A", A, "cancel-discharge-inpatient-home", "in-progress", "IMP", {"start": "2026-01-05T09:30:00+01:00"}, "2026-01-09T11:30:00+01:00", h_slhj, role="removal")
write("a6_an_slhj.json", an_slhj)

B = patient("pb", "1503551235", "Berg", "1955-03-15", "male")
stin_b, h_b1 = hn(1, "B", B, "admit-inpatient", "in-progress", "IMP", {"start": start}, start)
write("b1_stin.json", stin_b)
leave_b = {"start": "2026-01-07T10:00:00+01:00"}
stor_b, h_b2 = hn(2, "B", B, "start-leave-inpatient", "onleave", "IMP", {"start": start}, "2026-01-07T10:00:00+01:00", h_b1, leave=leave_b)
write("b2_stor.json", stor_b)
dead = "2026-01-08T04:15:00+01:00"
B_dead = patient("pb", "1503551235", "Berg", "1955-03-15", "male", deceased=dead)
mors, h_mors = hn(3, "B", B_dead, "deceased-inpatient", "finished", "IMP", {"start": start, "end": dead}, "2026-01-08T05:00:00+01:00", h_b2)
write("b3_mors.json", mors)
# The cancellation states in-progress; the state before the death was leave, and
# that is what a cancellation restores when the cancelled message reached us.
an_mors, _ = hn(4, "B", B, "cancel-deceased-inpatient", "in-progress", "IMP", {"start": start}, "2026-01-08T06:00:00+01:00", h_mors, role="removal")
write("b4_an_mors.json", an_mors)

C = patient("pc", "2012851236", "Christensen", "1985-12-20", "female")
staa, h_staa = hn(1, "C", C, "admit-emergency", "in-progress", "EMER", {"start": start}, start)
write("c1_staa.json", staa)
an_staa, _ = hn(2, "C", C, "cancel-admit-emergency", "entered-in-error", "EMER", {"start": start}, "2026-01-05T12:00:00+01:00", h_staa, role="removal")
write("c2_an_staa.json", an_staa)

# CareCommunication: a new message with a PDF attachment, then the reply in the same thread.
PDF = "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWlsZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9G"
def cc(n, activity, payloads, about=None):
    hid = "d0000000-0000-4000-8000-%012d" % n
    cid = "d2222222-0000-4000-8000-%012d" % n
    comm = {"resourceType": "Communication", "id": cid,
            "meta": {"profile": [CC + "medcom-careCommunication-communication"]},
            "identifier": [{"value": "urn:uuid:7e000000-0000-4000-8000-000000000001"}],
            "status": "unknown",
            "category": [{"coding": [{"system": "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-careCommunication-categoryCodes", "code": "discharge"}]}],
            "subject": {"reference": "Patient/pa"},
            "topic": {"text": "Udskrivelse af Andersen"},
            "payload": payloads}
    author = {"resourceType": "Practitioner", "id": "pr1", "name": [{"family": "Hansen", "given": ["Hanne"]}]}
    role = {"resourceType": "PractitionerRole", "id": "role1", "practitioner": {"reference": "Practitioner/pr1"},
            "organization": {"reference": "Organization/" + HOSP},
            "code": [{"coding": [{"system": "urn:oid:1.2.208.176.2.1", "code": "sygeplejerske"}], "text": "Sygeplejerske"}]}
    h = header(hid, "care-communication-message", "Communication/" + cid)
    h["meta"] = {"profile": [CC + "medcom-careCommunication-messageHeader"]}
    when = "2026-01-09T12:%02d:00+01:00" % n
    b = {"resourceType": "Bundle", "id": "e" + hid[1:], "meta": {"profile": [CC + "medcom-careCommunication-message"]},
         "type": "message", "timestamp": when, "entry": []}
    prov = provenance("f" + hid[1:], hid, activity, when, about)
    for r in [h, A, comm, author, role, org(HOSP, "265161000016000", "Medicinsk afdeling, Testhospital"),
              org(KOMMUNE, "953741000016009", "Hjemmeplejen, Testkommune"), prov]:
        b["entry"].append({"fullUrl": "%s/%s" % (r["resourceType"], r["id"]), "resource": r})
    return b, hid

def payload(text, when, ident):
    return {"extension": [
        {"url": "http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-datetime-extension", "valueDateTime": when},
        {"url": "http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-identifier-extension", "valueIdentifier": {"value": ident}},
        {"url": "http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-practitioner-extension", "valueReference": {"reference": "PractitionerRole/role1"}},
        {"url": "http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-contact-extension", "valueContactPoint": {"system": "phone", "value": "12345678"}}],
        "contentString": text}

p1 = payload("Andersen udskrives i morgen; se vedhæftet plan.", "2026-01-09T12:01:00+01:00", "urn:uuid:7e000000-0000-4000-8000-0000000000a1")
att = {"contentAttachment": {"contentType": "application/pdf", "data": PDF, "title": "plan.pdf"}}
t1, h_t1 = cc(1, "new-message", [p1, att])
write("t1_cc_new.json", t1)
p2 = payload("Tak, hjemmeplejen er klar.", "2026-01-09T12:30:00+01:00", "urn:uuid:7e000000-0000-4000-8000-0000000000a2")
t2, _ = cc(2, "reply-message", [p1, att, p2], h_t1)
write("t2_cc_reply.json", t2)

# Invalid messages: each refused with fatal-error naming the element at fault.
os.makedirs(os.path.join(HERE, "invalid"), exist_ok=True)
expect = {}
def invalid(name, bundle, expression):
    with open(os.path.join(HERE, "invalid", name), "w") as f:
        json.dump(bundle, f, indent=1, ensure_ascii=False)
        f.write("\n")
    expect[name] = expression

def variant(n, mutate):
    b, _ = hn(90 + n, "X", patient("px", "0101401234", "Andersen", "1940-01-01", "female"), "admit-inpatient", "in-progress", "IMP", {"start": start}, start)
    mutate(b)
    return b

def set_cpr(v):
    return lambda b: b["entry"][1]["resource"]["identifier"][0].__setitem__("value", v)
invalid("cpr_bad_date.json", variant(1, set_cpr("3202401234")), "Bundle.entry[1].resource.identifier[0].value")
invalid("cpr_letters.json", variant(2, set_cpr("01014O1234")), "Bundle.entry[1].resource.identifier[0].value")
invalid("cpr_birthdate_mismatch.json", variant(3, lambda b: b["entry"][1]["resource"].__setitem__("birthDate", "1940-01-02")), "Bundle.entry[1].resource.birthDate")
invalid("cpr_gender_mismatch.json", variant(4, lambda b: b["entry"][1]["resource"].__setitem__("gender", "male")), "Bundle.entry[1].resource.gender")
invalid("cpr_missing.json", variant(5, lambda b: b["entry"][1]["resource"].__setitem__("identifier", [{"system": "urn:oid:1.2.3", "value": "x"}])), "Bundle.entry[1].resource.identifier")
invalid("event_system.json", variant(6, lambda b: b["entry"][0]["resource"]["eventCoding"].__setitem__("system", "http://example.org/events")), "Bundle.entry[0].resource.eventCoding.system")
invalid("event_unknown.json", variant(7, lambda b: b["entry"][0]["resource"]["eventCoding"].__setitem__("code", "lab-result-message")), "Bundle.entry[0].resource.eventCoding.code")
invalid("not_message.json", variant(8, lambda b: b.__setitem__("type", "collection")), "Bundle.type")
invalid("no_provenance.json", variant(9, lambda b: b.__setitem__("entry", b["entry"][:5])), "Bundle.entry.resource.ofType(Provenance)")
invalid("status_mismatch.json", variant(10, lambda b: b["entry"][2]["resource"].__setitem__("status", "onleave")), "Bundle.entry[2].resource.status")
invalid("class_mismatch.json", variant(11, lambda b: b["entry"][2]["resource"]["class"].__setitem__("code", "EMER")), "Bundle.entry[2].resource.class.code")
invalid("activity_unknown.json", variant(12, lambda b: b["entry"][5]["resource"]["activity"]["coding"][0].__setitem__("code", "transfer-inpatient")), "Bundle.entry[5].resource.activity.coding[0].code")
invalid("focus_dangling.json", variant(13, lambda b: b["entry"][0]["resource"]["focus"][0].__setitem__("reference", "Encounter/nowhere")), "Bundle.entry[0].resource.focus[0]")
invalid("sender_missing.json", variant(14, lambda b: b["entry"][0]["resource"].pop("sender")), "Bundle.entry[0].resource.sender")
invalid("not_fhir.json", variant(15, lambda b: b["entry"][2]["resource"].__setitem__("colour", "blue")), "Bundle.entry[2].resource.colour")
with open(os.path.join(HERE, "invalid", "expect.json"), "w") as f:
    json.dump(expect, f, indent=1)
    f.write("\n")

# FHIR XML twins of two messages (vendors send XML too): the test converts them
# and expects exactly the JSON of the same message.
from xml.sax.saxutils import quoteattr

def xml_value(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)

def xml_elements(name, value, under, out, indent):
    pad = " " * indent
    values = value if isinstance(value, list) else [value]
    unders = under if isinstance(under, list) else [under] * len(values)
    for v, u in zip(values, unders):
        if isinstance(v, dict) and "resourceType" in v:
            out.append("%s<%s>" % (pad, name))
            xml_resource(v, out, indent + 1)
            out.append("%s</%s>" % (pad, name))
        elif isinstance(v, dict):
            attrs = ""
            body = dict(v)
            for a in ("id", "url"):
                if a in body and isinstance(body[a], str):
                    attrs += " %s=%s" % (a, quoteattr(body.pop(a)))
            out.append("%s<%s%s>" % (pad, name, attrs))
            xml_members(body, out, indent + 1)
            out.append("%s</%s>" % (pad, name))
        else:
            attrs = "" if v is None else " value=%s" % quoteattr(xml_value(v))
            if u and "id" in u:
                attrs = " id=%s" % quoteattr(u["id"]) + attrs
            if u and "extension" in u:
                out.append("%s<%s%s>" % (pad, name, attrs))
                xml_elements("extension", u["extension"], None, out, indent + 1)
                out.append("%s</%s>" % (pad, name))
            else:
                out.append("%s<%s%s/>" % (pad, name, attrs))

def xml_members(obj, out, indent):
    for k, v in obj.items():
        if k.startswith("_") or k == "resourceType":
            continue
        if k == "div":
            out.append(" " * indent + v)
            continue
        xml_elements(k, v, obj.get("_" + k), out, indent)

def xml_resource(r, out, indent, top=False):
    pad = " " * indent
    out.append('%s<%s%s>' % (pad, r["resourceType"], ' xmlns="http://hl7.org/fhir"' if top else ""))
    xml_members(r, out, indent + 1)
    out.append("%s</%s>" % (pad, r["resourceType"]))

for src, dst in (("a1_stin.json", "a1_stin.xml"), ("t1_cc_new.json", "t1_cc_new.xml")):
    with open(os.path.join(HERE, src)) as f:
        bundle = json.load(f)
    # one primitive with an extension and an id, to exercise the _name rules
    pat = bundle["entry"][1]["resource"]
    pat["name"][0]["given"] = ["Test", "Anna"]
    pat["name"][0]["_given"] = [None, {"id": "g2", "extension": [{"url": "http://example.org/nickname", "valueBoolean": True}]}]
    focus = bundle["entry"][2]["resource"]
    focus["text"] = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Besked &amp; <b>plan</b></p></div>'}
    with open(os.path.join(HERE, src.replace(".json", "_xml_twin.json")), "w") as f:
        json.dump(bundle, f, indent=1, ensure_ascii=False)
        f.write("\n")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    xml_resource(bundle, lines, 0, top=True)
    with open(os.path.join(HERE, dst), "w") as f:
        f.write("\n".join(lines) + "\n")
