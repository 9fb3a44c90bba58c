-- GET /api/upload-video/status/{id}, cycling over the job ids in the file named by BENCH_JOBS.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

local ids, paths, i = nil, {}, 0

setup = common.setup

function init()
  ids = common.read_jobs(os.getenv("BENCH_JOBS"))
  for n, id in ipairs(ids) do paths[n] = "/api/upload-video/status/" .. id end
  i = (thread_index or 1) * 97
end

function request()
  i = i + 1
  return wrk.format("GET", paths[i % #paths + 1])
end

function done(summary, latency)
  common.done(summary, latency)
end
