-- paths.lua - GET one of the request paths in BENCH_PATHS, picked at random per request.
--
-- bench/search.sh writes one file of paths per query (values drawn from the dataset's
-- lists: citizens, their CPR numbers, organisations), so that consecutive requests ask for
-- different citizens or organisations and no cache answers them for free.  No response():
-- parsing answers in Lua would take CPU from the server; search.sh checks a sample with
-- curl before the timed run.  BENCH_HEADER ("Name: value", optional) is sent with every
-- request: the session cookie or bearer token of bench/policy.sh.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup = common.setup

local requests = {}

function init(args)
    common.seed(thread_index)
    local headers = {["Accept"] = "application/fhir+json"}
    local extra = os.getenv("BENCH_HEADER")
    if extra and extra ~= "" then
        local name, value = extra:match("^([^:]+):%s*(.*)$")
        assert(name, "BENCH_HEADER must be 'Name: value'")
        headers[name] = value
    end
    for _, path in ipairs(common.lines(os.getenv("BENCH_PATHS"))) do
        requests[#requests + 1] = wrk.format("GET", path, headers)
    end
end

function request()
    return requests[math.random(#requests)]
end
