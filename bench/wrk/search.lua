-- search.lua - GET /fhir/Patient?identifier=urn:oid:1.2.208.176.1.2|{cpr}, one match each.
--
-- BENCH_IDS names a file of "id identifier" lines (written by create.lua); the
-- identifier is picked at random per request, so every search finds one Patient.
-- run.sh checks a sample of these searches with curl before the timed run; here
-- there is no response() because parsing every response in Lua would take CPU
-- from the server on a small machine.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup = common.setup

local requests = {}

function init(args)
    common.seed(thread_index)
    for _, line in ipairs(common.lines(os.getenv("BENCH_IDS"))) do
        local cpr = line:match("^%S+%s+(%S+)")
        requests[#requests + 1] = wrk.format(
            "GET", "/fhir/Patient?identifier=urn:oid:1.2.208.176.1.2%7C" .. cpr,
            {["Accept"] = "application/fhir+json"})
    end
end

function request()
    return requests[math.random(#requests)]
end
