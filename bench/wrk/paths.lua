-- paths.lua - GET one of the request paths in BENCH_PATHS, picked at random per request.
--
-- bench/search.sh writes one file of paths per query (values drawn from the dataset's
-- lists: citizens, their CPR numbers, organisations), so that consecutive requests ask for
-- different citizens or organisations and no cache answers them for free.  No response():
-- parsing answers in Lua would take CPU from the server; search.sh checks a sample with
-- curl before the timed run.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup = common.setup

local requests = {}

function init(args)
    common.seed(thread_index)
    for _, path in ipairs(common.lines(os.getenv("BENCH_PATHS"))) do
        requests[#requests + 1] = wrk.format("GET", path, {["Accept"] = "application/fhir+json"})
    end
end

function request()
    return requests[math.random(#requests)]
end
