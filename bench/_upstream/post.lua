-- wrk script: POST the benchmark body with optional auth; the body and header come from the environment.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
    wrk.headers["Authorization"] = auth
end
