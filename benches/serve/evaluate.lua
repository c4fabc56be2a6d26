-- wrk script: POST the typical intent to /v1/evaluate.
-- Usage: wrk -t1 -c8 -d10s --latency -s benches/serve/evaluate.lua http://127.0.0.1:8787/v1/evaluate
local f = assert(io.open("benches/data/typical_intent.json", "r"))
local intent = f:read("*a"):gsub("\n", "")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"intent":' .. intent .. '}'
