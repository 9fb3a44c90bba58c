-- Shared by the wrk scripts: the job ids to cycle over, per-thread offsets, and a machine-readable
-- summary line (`BENCH_RESULT {...}`) printed by wrk's main thread when the run ends.
local M = {}

local threads = {}
local counter = 0

-- Every thread gets an index, so the threads start at different jobs and name their webhook-ids apart.
function M.setup(thread)
  counter = counter + 1
  thread:set("thread_index", counter)
  table.insert(threads, thread)
end

-- Reads "id<TAB>etag" lines (the etag may be absent) written by the bench.
function M.read_jobs(path)
  local ids, etags = {}, {}
  for line in io.lines(path) do
    local id, etag = line:match("^([^\t]+)\t?(.*)$")
    if id then
      table.insert(ids, id)
      table.insert(etags, etag)
    end
  end
  assert(#ids > 0, "no job ids in " .. path)
  return ids, etags
end

-- Status counts kept by scripts that look at responses, summed over the threads in done().
function M.count(counts, key)
  counts[key] = (counts[key] or 0) + 1
end

local function json_escape(s)
  return (s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end))
end

function M.done(summary, latency, keys)
  local totals, sample = {}, nil
  for _, thread in ipairs(threads) do
    for _, key in ipairs(keys or {}) do
      totals[key] = (totals[key] or 0) + (tonumber(thread:get(key)) or 0)
    end
    sample = sample or thread:get("sample")
  end
  local e = summary.errors
  local parts = {
    string.format('"requests":%d,"duration_us":%d,"bytes":%d', summary.requests, summary.duration, summary.bytes),
    string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}', e.connect, e.read, e.write, e.status, e.timeout),
    string.format('"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}',
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean),
  }
  local counted = {}
  for key, n in pairs(totals) do table.insert(counted, string.format('"%s":%d', key, n)) end
  table.insert(parts, '"counts":{' .. table.concat(counted, ",") .. "}")
  if sample then table.insert(parts, '"sample":"' .. json_escape(sample) .. '"') end
  io.write("BENCH_RESULT {" .. table.concat(parts, ",") .. "}\n")
end

return M
