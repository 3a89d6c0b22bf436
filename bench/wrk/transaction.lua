-- transaction.lua - POST /fhir: a transaction Bundle of 10 entries, the start of a
-- coordination: a citizen, the care team, a plan with a goal, the hospital stay, and five
-- tasks with deadlines - linked by urn:uuid references that the server resolves.
--
-- The fullUrls are new in every request (thread number and a per-thread counter), so
-- each request creates 10 new resources.  Non-2xx answers fail the run (run.sh reads
-- wrk's summary); done() reports answers that were not a transaction-response.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup = common.setup

local counter = 0
local headers = {["Content-Type"] = "application/fhir+json", ["Accept"] = "application/fhir+json"}
unexpected = 0

local function uuid(n, i)
    return string.format("urn:uuid:%08x-0000-4000-8000-%012x", thread_index, n * 16 + i)
end

local function entry(url, resource, type)
    return '{"fullUrl":"' .. url .. '","resource":' .. resource ..
           ',"request":{"method":"POST","url":"' .. type .. '"}}'
end

function request()
    counter = counter + 1
    local n = counter
    local pat = uuid(n, 0)
    local subject = '{"reference":"' .. pat .. '"}'
    local entries = {
        entry(pat, '{"resourceType":"Patient","name":[{"family":"Nielsen","given":["Karen"]}],' ..
              '"gender":"female","birthDate":"1941-03-0' .. (n % 9 + 1) .. '"}', "Patient"),
        entry(uuid(n, 1), '{"resourceType":"CareTeam","status":"active","subject":' .. subject ..
              ',"name":"Team around Karen"}', "CareTeam"),
        entry(uuid(n, 2), '{"resourceType":"CarePlan","status":"active","intent":"plan",' ..
              '"subject":' .. subject .. ',"title":"Rehabilitation plan"}', "CarePlan"),
        entry(uuid(n, 3), '{"resourceType":"Goal","lifecycleStatus":"active",' ..
              '"description":{"text":"Walk to the shop on my own"},"subject":' .. subject .. '}', "Goal"),
        entry(uuid(n, 4), '{"resourceType":"Encounter","status":"in-progress","class":{' ..
              '"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},' ..
              '"subject":' .. subject .. '}', "Encounter"),
    }
    for i = 5, 9 do
        entries[#entries + 1] = entry(uuid(n, i),
            '{"resourceType":"Task","status":"requested","intent":"order","for":' .. subject ..
            ',"description":"Follow-up ' .. i .. '","restriction":{"period":{"end":"2026-12-' ..
            string.format("%02d", i + 10) .. 'T12:00:00Z"}}}', "Task")
    end
    local body = '{"resourceType":"Bundle","type":"transaction","entry":[' ..
                 table.concat(entries, ",") .. ']}'
    return wrk.format("POST", "/fhir", headers, body)
end

function response(status, headers, body)
    if status ~= 200 or not body:find('"transaction-response"', 1, true) then
        unexpected = unexpected + 1
    end
end

function done(summary, latency, requests)
    local bad = 0
    for _, thread in ipairs(common.threads()) do
        bad = bad + thread:get("unexpected")
    end
    io.write(string.format("bench-check: unexpected=%d\n", bad))
end
