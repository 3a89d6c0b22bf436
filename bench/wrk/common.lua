-- common.lua - helpers shared by the wrk scripts of bench/run.sh.
--
-- wrk runs each script in one Lua state per thread (init, request, response)
-- and in one more for setup and done; the scripts find this file through
-- BENCH_WRK_DIR, which run.sh sets.  Nothing here talks to the server.
local common = {}

-- Lines of a file, without their ends; fails loudly when the file is missing or empty,
-- because a read test over an empty list would measure nothing.
function common.lines(path)
    assert(path and path ~= "", "common.lines: no path given")
    local f = assert(io.open(path, "r"))
    local out = {}
    for line in f:lines() do
        if line ~= "" then
            out[#out + 1] = line
        end
    end
    f:close()
    assert(#out > 0, "common.lines: '" .. path .. "' is empty")
    return out
end

-- Numbers the threads 1..n in setup(), so that each can make values no other thread makes.
-- With BENCH_PORTS ("port port ...", bench/pg.sh) the threads take the ports in turn,
-- so that one wrk run loads several server processes on 127.0.0.1 alike.
local threads = {}
function common.setup(thread)
    threads[#threads + 1] = thread
    thread:set("thread_index", #threads)
    local ports = {}
    for p in (os.getenv("BENCH_PORTS") or ""):gmatch("%d+") do
        ports[#ports + 1] = p
    end
    if #ports > 0 then
        thread.addr = wrk.lookup("127.0.0.1", ports[(#threads - 1) % #ports + 1])[1]
    end
end

function common.threads()
    return threads
end

-- Seeds the per-thread generator so that two threads do not walk the same sequence.
function common.seed(thread_index)
    math.randomseed(os.time() * 100 + thread_index)
    math.random(); math.random(); math.random()
end

-- Adds BENCH_HEADER to headers: optional "Name: value" lines (a session cookie and its
-- X-CSRF-Token, or a bearer token).
function common.extra_header(headers)
    for line in (os.getenv("BENCH_HEADER") or ""):gmatch("[^\n]+") do
        local name, value = line:match("^([^:]+):%s*(.*)$")
        assert(name, "BENCH_HEADER lines must be 'Name: value'")
        headers[name] = value
    end
    return headers
end

return common
