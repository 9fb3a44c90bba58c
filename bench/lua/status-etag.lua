-- GET /api/upload-video/status/{id} with If-None-Match: the ETag each job had when the run started,
-- so an unchanged job answers 304. Counts 200s and 304s, to show that the revalidation really happened.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

local requests, i = {}, 0
local counts = {}

setup = common.setup

function init()
  local ids, etags = common.read_jobs(os.getenv("BENCH_JOBS"))
  for n, id in ipairs(ids) do
    local headers = {}
    if etags[n] ~= "" then headers["If-None-Match"] = etags[n] end
    requests[n] = wrk.format("GET", "/api/upload-video/status/" .. id, headers)
  end
  i = (thread_index or 1) * 97
end

function request()
  i = i + 1
  return requests[i % #requests + 1]
end

function response(status)
  common.count(counts, "status_" .. status)
  status_200, status_304 = counts.status_200 or 0, counts.status_304 or 0
end

function done(summary, latency)
  common.done(summary, latency, { "status_200", "status_304" })
end
