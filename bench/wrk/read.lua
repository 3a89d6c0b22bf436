-- read.lua - GET /fhir/Patient/{id}, the id picked at random per request.
--
-- BENCH_IDS names a file of "id identifier" lines (written by create.lua).  The
-- requests are built once in init() so that the load generator, which shares the
-- machine's cores with the server, spends as little as it can per request.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup = common.setup

local requests = {}

function init(args)
    common.seed(thread_index)
    for _, line in ipairs(common.lines(os.getenv("BENCH_IDS"))) do
        local id = line:match("^(%S+)")
        requests[#requests + 1] = wrk.format("GET", "/fhir/Patient/" .. id,
                                             {["Accept"] = "application/fhir+json"})
    end
end

function request()
    return requests[math.random(#requests)]
end
