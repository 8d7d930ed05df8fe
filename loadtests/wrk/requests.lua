-- Replays pre-generated requests, one per line: METHOD \t PATH \t BODY \t AUTHORIZATION
-- (BODY and AUTHORIZATION may be empty). Signed requests carry single-use
-- nonces, so in "distinct" mode every line is sent at most once (threads
-- take disjoint slices); "repeat" mode cycles through all lines.
--
-- Environment: REQUESTS (file), MODE (distinct|repeat), RESULT (JSON
-- summary written by done()), WRK_THREADS, DELAY_MS (optional pause per
-- connection between requests: an approximate rate limit), DELAY_DIST
-- (fixed: exactly DELAY_MS; exponential: random with mean DELAY_MS, so the
-- connections do not fall into step and arrive in bursts). Responses with
-- status >= 400 are counted by wrk itself (errors.status).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  local mode = os.getenv("MODE") or "distinct"
  local n_threads = tonumber(os.getenv("WRK_THREADS") or "1")
  delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
  exponential = os.getenv("DELAY_DIST") == "exponential"
  math.randomseed(os.time() * 131 + id)
  reqs = {}
  local i = 0
  for line in io.lines(os.getenv("REQUESTS")) do
    if mode == "repeat" or (i % n_threads) == id then
      local f = split(line)
      local headers = {}
      if f[3] ~= "" then headers["Content-Type"] = "application/json" end
      if f[4] ~= nil and f[4] ~= "" then headers["Authorization"] = f[4] end
      table.insert(reqs, wrk.format(f[1], f[2], headers, f[3] ~= "" and f[3] or nil))
    end
    i = i + 1
  end
  index = 0
  exhausted = 0
end

function request()
  index = index + 1
  if index > #reqs then
    index = 1
    exhausted = exhausted + 1
  end
  return reqs[index]
end

function delay()
  if exponential then
    return math.floor(-math.log(1 - math.random()) * delay_ms + 0.5)
  end
  return delay_ms
end

function done(summary, latency, requests)
  local wrapped = 0
  for _, thread in ipairs(threads) do
    wrapped = wrapped + (thread:get("exhausted") or 0)
  end
  local out = io.open(os.getenv("RESULT"), "w")
  out:write(string.format(
    '{"wrapped": %d, "requests": %d, "duration_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    wrapped, summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  out:close()
end
