-- POST /v1/verify/qr with tokens read from a file, one token per line.
--
-- Environment:
--   TOKENS   path of the token file
--   MODE     "distinct" (each token sent at most once; threads take
--            disjoint slices) or "repeat" (every thread cycles the whole file)
--   RESULT   path where done() writes a JSON summary
--   TARGET   request path (default /v1/verify/qr)
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("TOKENS")
  local mode = os.getenv("MODE") or "distinct"
  local target = os.getenv("TARGET") or "/v1/verify/qr"
  local n_threads = tonumber(os.getenv("WRK_THREADS") or "1")
  tokens = {}
  local i = 0
  for line in io.lines(path) do
    if mode == "repeat" or (i % n_threads) == id then
      table.insert(tokens, line)
    end
    i = i + 1
  end
  index = 0
  exhausted = 0
  wrk.method = "POST"
  wrk.path = target
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  index = index + 1
  if index > #tokens then
    index = 1
    exhausted = exhausted + 1
  end
  return wrk.format(nil, nil, nil, '{"token":"' .. tokens[index] .. '"}')
end

function done(summary, latency, requests)
  -- A distinct run is void if any thread ran out of fresh tokens.
  local wrapped = 0
  for _, thread in ipairs(threads) do
    wrapped = wrapped + (thread:get("exhausted") or 0)
  end
  local out = io.open(os.getenv("RESULT"), "w")
  out:write(string.format(
    '{"wrapped": %d, "requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    wrapped, summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  out:close()
end
