-- medcom.lua - POST /fhir/$process-message: MedCom HospitalNotification admissions (STIN,
-- about 4 KB, tests/data/medcom/a1_stin.json as the template), each with a new message
-- id, a new stay (episode-of-care identifier) and a new citizen (CPR), so that every
-- message creates a Patient and an Encounter, links the stay, and writes its event,
-- log line and audit record: the heaviest ordinary case.  BENCH_MEDCOM_REPEAT=N sends
-- each citizen N admissions in a row (a known citizen: a lookup instead of a create).
-- BENCH_MEDCOM_CITIZENS=N (N > 0): every message admits one of the N citizens that
-- bench/medcom-load.mjs preloaded (citizen p: born 1940-01-01 + p days, serial p div
-- 21915, as there), spread over them; a new stay each time.
--
-- CPR numbers as in create.lua (date walk 1940..1999, one century digit per thread);
-- gender follows the last digit's parity and birthDate the date, so the CPR checks pass.
-- An answer that is not a 200 with an "ok" acknowledgement is counted and reported as
-- "bench-check: unexpected=N" for medcom.sh to fail on.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup = common.setup

local template
do
    local f = assert(io.open(os.getenv("BENCH_MEDCOM_TEMPLATE"), "r"))
    template = f:read("a"):gsub("\n%s*", "")
    f:close()
end

local DAYS = 21915
local EPOCH_1940 = -946771200
local CENTURY_DIGIT = {0, 1, 2, 3, 4, 9}
local repeat_n = tonumber(os.getenv("BENCH_MEDCOM_REPEAT") or "1")
local known = tonumber(os.getenv("BENCH_MEDCOM_CITIZENS") or "0")
local counter = 0
ok = 0
unexpected = 0

function init(args)
    assert(thread_index <= #CENTURY_DIGIT, "medcom.lua: at most 6 wrk threads")
end

-- The template cut once at its placeholders into fixed pieces and slots, so that a request
-- is one table.concat (five gsub passes over 4 KB cost the client ~0.3 ms a request, as
-- much CPU as a quarter of the server's).
local PLACEHOLDERS = {
    {"a0000000-0000-4000-8000-000000000001", "id"},
    {"episode-A", "episode"},
    {"0101401234", "cpr"},
    {"1940-01-01", "birth"},
    {'"gender": "female"', "gender"},
    {'"gender":"female"', "gender"},
}
local pieces, slots = {}, {}
do
    local at = 1
    while true do
        local best, best_len, best_slot
        for _, p in ipairs(PLACEHOLDERS) do
            local i = template:find(p[1], at, true)
            if i and (not best or i < best) then
                best, best_len, best_slot = i, #p[1], p[2]
            end
        end
        if not best then
            break
        end
        pieces[#pieces + 1] = template:sub(at, best - 1)
        slots[#slots + 1] = best_slot
        at = best + best_len
    end
    pieces[#pieces + 1] = template:sub(at)
    local seen = {}
    for _, slot in ipairs(slots) do
        seen[slot] = true
    end
    for _, need in ipairs({"id", "episode", "cpr", "birth", "gender"}) do
        assert(seen[need], "medcom.lua: the template has no " .. need)
    end
end
local parts = {}

function request()
    local n = counter
    counter = counter + 1
    local person, seq
    if known > 0 then
        person = (n * 7919 + thread_index * 104729) % known
        seq = math.floor(person / DAYS)
    else
        person = math.floor(n / repeat_n)
        seq = CENTURY_DIGIT[thread_index] * 1000 + math.floor(person / DAYS)
    end
    local t = EPOCH_1940 + (person % DAYS) * 86400
    local values = {
        id = string.format("%08x-0000-4000-8000-%012x", thread_index, n),
        episode = "episode-" .. thread_index .. "-" .. n,
        cpr = os.date("!%d%m%y", t) .. string.format("%04d", seq),
        birth = os.date("!%Y-%m-%d", t),
        gender = (seq % 2 == 1) and '"gender":"male"' or '"gender":"female"',
    }
    for i, slot in ipairs(slots) do
        parts[2 * i - 1] = pieces[i]
        parts[2 * i] = values[slot]
    end
    parts[2 * #slots + 1] = pieces[#slots + 1]
    return wrk.format("POST", "/fhir/$process-message",
                      {["Content-Type"] = "application/fhir+json"}, table.concat(parts))
end

function response(status, headers, body)
    if status == 200 and headers["X-MedCom-Acknowledgement"] == "ok" then
        ok = ok + 1
    else
        unexpected = unexpected + 1
    end
end

function done(summary, latency, requests)
    local good, bad = 0, 0
    for _, thread in ipairs(common.threads()) do
        good = good + thread:get("ok")
        bad = bad + thread:get("unexpected")
    end
    io.write(string.format("bench-check: ok=%d unexpected=%d\n", good, bad))
end
