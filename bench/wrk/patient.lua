-- patient.lua - the Danish citizen of about 1.6 KB that create.lua posts and update.lua puts.
--
-- body(fields) fills the template: cpr, birthdate, gender, given, middle, family, phone,
-- email, house, and id (empty: no "id" element, as in a create).
local patient = {}

local template = ([[
{"resourceType":"Patient",{{idfield}}
 "meta":{"profile":["http://hl7.dk/fhir/core/StructureDefinition/dk-core-patient"]},
 "identifier":[{"use":"official","system":"urn:oid:1.2.208.176.1.2","value":"{{cpr}}"}],
 "active":true,
 "name":[{"use":"official","text":"{{given}} {{middle}} {{family}}","family":"{{family}}",
          "given":["{{given}}","{{middle}}"]}],
 "telecom":[{"system":"phone","value":"+45{{phone}}","use":"mobile"},
            {"system":"email","value":"{{email}}@example.dk","use":"home"}],
 "gender":"{{gender}}",
 "birthDate":"{{birthdate}}",
 "address":[{"extension":[{"url":"http://hl7.dk/fhir/core/StructureDefinition/dk-core-municipalityCodes",
             "valueCodeableConcept":{"coding":[{"system":"urn:oid:1.2.208.176.1.5","code":"0751","display":"Aarhus"}]}}],
             "use":"home","type":"physical","line":["Søndergade {{house}}, 3. th."],
             "city":"Aarhus C","postalCode":"8000","country":"DK"}],
 "maritalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M","display":"Married"}]},
 "contact":[{"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0131","code":"N","display":"Next-of-Kin"}]}],
             "name":{"family":"{{family}}","given":["Jens"]},
             "telecom":[{"system":"phone","value":"+4522334455","use":"mobile"}]}],
 "communication":[{"language":{"coding":[{"system":"urn:ietf:bcp:47","code":"da","display":"Danish"}]},"preferred":true}],
 "generalPractitioner":[{"identifier":{"system":"urn:oid:1.2.208.176.1.1","value":"123451000016005"},"display":"Lægerne Søndergade"}],
 "managingOrganization":{"identifier":{"system":"urn:oid:1.2.208.176.1.1","value":"751000016006"},"display":"Aarhus Kommune, Sundhed og Omsorg"}}
]]):gsub("\n%s*", "")

function patient.body(fields)
    fields.idfield = fields.id and ('"id":"' .. fields.id .. '",') or ""
    return (template:gsub("{{(%w+)}}", fields))
end

-- The birthDate a CPR number of create.lua stands for (DDMMYY, born 1940-1999).
function patient.birthdate(cpr)
    return "19" .. cpr:sub(5, 6) .. "-" .. cpr:sub(3, 4) .. "-" .. cpr:sub(1, 2)
end

return patient
