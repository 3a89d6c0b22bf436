-- create.lua - POST /fhir/Patient: a Danish citizen of about 1.6 KB, a new CPR each request.
--
-- The CPR number (DDMMYY + 4 digits) is made from the wrk thread's number and a
-- per-thread counter, so no two requests in a run share one: the date part walks
-- the days 1940-01-01 .. 1999-12-31, and the four digits are a century digit for
-- the thread (0-4 or 9: born 1900-1999 for these years, as the CPR office reads
-- it and src/fhir/ident.c checks it) * 1000 + the laps of the date range.
-- birthDate agrees with the CPR; names, gender and phone vary with the counter.
--
-- Each 201 answer is recorded as "id cpr" (the id from the Location header, the
-- CPR from the echoed body) and done() writes them all to BENCH_IDS, which the
-- read and search tests then load.  Answers other than 201 are counted and
-- reported as "bench-check: unexpected=N" for run.sh to fail on.  BENCH_HEADER (optional)
-- is sent with every request: the credentials of bench/write-cpu.sh.
package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup = common.setup

local patient = require("patient")

local female = {"Karen", "Anne", "Kirsten", "Mette", "Hanne", "Helle", "Susanne", "Lene"}
local male = {"Jens", "Peter", "Lars", "Michael", "Henrik", "Søren", "Thomas", "Niels"}
local female_middle = {"Marie", "Louise", "Sofie", "Ida", "Kathrine"}
local male_middle = {"Kristian", "Emil", "Johan", "Frederik", "Valdemar"}
local family = {"Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen",
                "Larsen", "Sørensen", "Rasmussen", "Jørgensen", "Petersen", "Madsen"}

local DAYS = 21915           -- 1940-01-01 .. 1999-12-31
local EPOCH_1940 = -946771200 -- 1940-01-01T00:00:00Z
local CENTURY_DIGIT = {0, 1, 2, 3, 4, 9}
local counter = 0
local headers = {["Content-Type"] = "application/fhir+json", ["Accept"] = "application/fhir+json"}
created = {}    -- "id cpr" per 201; read by done() through thread:get
unexpected = 0  -- answers other than 201

function init(args)
    -- One century digit per thread, and laps of DAYS must stay below 1000.
    assert(thread_index <= #CENTURY_DIGIT, "create.lua: at most 6 wrk threads")
    common.extra_header(headers)
end

function request()
    local n = counter
    counter = counter + 1
    local t = EPOCH_1940 + (n % DAYS) * 86400
    local laps = math.floor(n / DAYS)
    assert(laps < 1000, "create.lua: out of CPR numbers for this thread")
    local seq = CENTURY_DIGIT[thread_index] * 1000 + laps
    local is_female = n % 2 == 0
    local half = math.floor(n / 2)
    local given = (is_female and female or male)[half % 8 + 1]
    local surname = family[n % 12 + 1]
    local fields = {
        cpr = os.date("!%d%m%y", t) .. string.format("%04d", seq),
        birthdate = os.date("!%Y-%m-%d", t),
        gender = is_female and "female" or "male",
        given = given,
        middle = (is_female and female_middle or male_middle)[half % 5 + 1],
        family = surname,
        phone = string.format("%08d", 20000000 + (thread_index * 1000003 + n) % 80000000),
        email = (given .. "." .. surname):lower():gsub("ø", "oe"),
        house = tostring(n % 150 + 1),
    }
    local body = patient.body(fields)
    return wrk.format("POST", "/fhir/Patient", headers, body)
end

function response(status, headers, body)
    if status ~= 201 then
        unexpected = unexpected + 1
        return
    end
    local id = (headers["Location"] or ""):match("/Patient/([^/]+)")
    local cpr = body:match('"urn:oid:1%.2%.208%.176%.1%.2","value":"(%d+)"')
    if id and cpr then
        created[#created + 1] = id .. " " .. cpr
    else
        unexpected = unexpected + 1
    end
end

function done(summary, latency, requests)
    local path = assert(os.getenv("BENCH_IDS"), "create.lua: BENCH_IDS is not set")
    local f = assert(io.open(path, "w"))
    local total, bad = 0, 0
    for _, thread in ipairs(common.threads()) do
        for _, line in ipairs(thread:get("created")) do
            f:write(line, "\n")
            total = total + 1
        end
        bad = bad + thread:get("unexpected")
    end
    f:close()
    io.write(string.format("bench-check: created=%d unexpected=%d\n", total, bad))
end
