#!/usr/bin/env bash
# write-icount.sh BIN N - user-space instructions per plain FHIR create and per update of the
# server, counted by callgrind like bench/icount.sh (whose paths are GETs): auth off, a fresh
# SQLite database, one worker thread, one keep-alive connection.
#
#   BIN  the samverka binary (e.g. build-bench/samverka)
#   N    creates counted (POST /fhir/Patient, after BENCH_WARM (default 50) warm-up creates),
#        then N updates counted (PUT of each counted Patient with a new phone number and
#        family name: most index rows stay, a few change)
#
# Prints "create: X instructions/request" and "update: Y instructions/request".
set -euo pipefail
bin=${1:?usage: write-icount.sh BIN N}
n=${2:?}
warm=${BENCH_WARM:-50}
bench_name=write-icount cg_tools=node
. "$(cd "$(dirname "$0")" && pwd)/callgrind.sh"
cg_start "$work/db" --auth off
# send.mjs MODE FROM COUNT VARIANT: creates (post) or puts of Patients FROM..FROM+COUNT-1,
# with the first (0) or second (1) phone number and family name
cat >"$work/send.mjs" <<'EOF'
import http from 'node:http';
const [port, mode, from, count, variant] = process.argv.slice(2);
const agent = new http.Agent({keepAlive: true, maxSockets: 1});
/* a valid cpr-nummer of its own for each i: DDMM50 and a sequence number */
function cpr(i) {
    const two = (n) => String(n).padStart(2, '0');
    return two(1 + (i % 28)) + two(1 + (Math.floor(i / 28) % 12)) + '50' +
        String(Math.floor(i / 336) % 10000).padStart(4, '0');
}
function patient(i, version) {
    return {
        resourceType: 'Patient',
        ...(mode === 'put' ? {id: `p${i}`} : {}),
        identifier: [{system: 'urn:oid:1.2.208.176.1.2', value: cpr(i)}],
        name: [{family: version ? `Jensen${i}b` : `Jensen${i}`, given: ['Anna', 'Marie']}],
        gender: 'female',
        birthDate: '1950-01-01',
        telecom: [{system: 'phone', value: version ? `+45 ${20000000 + i}` : `+45 ${30000000 + i}`}],
        address: [{line: ['Vestergade 1'], city: 'Aarhus', postalCode: '8000', country: 'DK'}],
    };
}
function send(i) {
    const body = JSON.stringify(patient(i, variant === '1'));
    const path = mode === 'put' ? `/fhir/Patient/p${i}` : '/fhir/Patient';
    return new Promise((resolve, reject) => {
        const req = http.request({host: '127.0.0.1', port, path, agent,
            method: mode === 'put' ? 'PUT' : 'POST',
            headers: {'Content-Type': 'application/fhir+json'}}, (res) => {
            res.resume();
            res.on('end', () => res.statusCode < 300 ? resolve() :
                reject(new Error(`${path}: ${res.statusCode}`)));
        });
        req.on('error', reject);
        req.end(body);
    });
}
for (let i = Number(from); i < Number(from) + Number(count); i++) await send(i);
agent.destroy();
EOF
send() { node "$work/send.mjs" "$port" "$@"; }
send post 1000000 "$warm" 0
cg_zero
send post 0 "$n" 0
cg_dump
create=$(cg_total 1)
send put 0 "$n" 0 # Patients p0.. (update as create), not counted
cg_zero
send put 0 "$n" 1
cg_dump
update=$(cg_total 2)
awk -v c="$create" -v u="$update" -v n="$n" \
    'BEGIN {printf "create: %.0f instructions/request\nupdate: %.0f instructions/request\n", c / n, u / n}'
