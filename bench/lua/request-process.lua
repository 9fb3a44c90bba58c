-- POST /api/upload-video/request-process for one uploaded file (BENCH_FILE_KEY): every request
-- creates a job. A 200 must carry a job_id; anything else is counted and sampled.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

local body, counts = nil, {}

setup = common.setup

function init()
  body = '{"fileKey":"' .. os.getenv("BENCH_FILE_KEY") .. '","language":"auto"}'
end

function request()
  return wrk.format("POST", "/api/upload-video/request-process", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, resp)
  if status == 200 and resp:find('"job_id"', 1, true) then
    common.count(counts, "created")
  else
    common.count(counts, "other")
    if not sample then sample = status .. " " .. resp:sub(1, 300) end
  end
  created, other = counts.created or 0, counts.other or 0
end

function done(summary, latency)
  common.done(summary, latency, { "created", "other" })
end
