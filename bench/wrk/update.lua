-- update.lua - PUT /fhir/Patient/{id}: a new version of a Patient that create.lua made.
--
-- BENCH_IDS names the file of "id cpr" lines create.lua wrote; each request picks one at
-- random and sends the whole Patient again with its id, its CPR and the birthDate that
-- goes with it, and a phone number that changes with every request, so that each update
-- stores a new version with new index rows.  No If-Match: two connections may update one
-- Patient, and each update is a version of its own.  The requests are built per request
-- (the body changes), which costs wrk CPU that the server then lacks.  BENCH_HEADER
-- (optional) is sent with every request: the credentials of bench/write-cpu.sh.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local patient = require("patient")

setup = common.setup

local lines = {}
local counter = 0
local headers = {["Content-Type"] = "application/fhir+json", ["Accept"] = "application/fhir+json"}

function init(args)
    common.seed(thread_index)
    lines = common.lines(os.getenv("BENCH_IDS"))
    common.extra_header(headers)
end

function request()
    local id, cpr = lines[math.random(#lines)]:match("^(%S+) (%d+)$")
    counter = counter + 1
    local body = patient.body({
        id = id, cpr = cpr, birthdate = patient.birthdate(cpr),
        gender = "female", given = "Karen", middle = "Marie", family = "Nielsen",
        phone = string.format("%08d", 20000000 + (thread_index * 1000003 + counter) % 80000000),
        email = "karen.nielsen", house = tostring(counter % 150 + 1),
    })
    return wrk.format("PUT", "/fhir/Patient/" .. id, headers, body)
end
