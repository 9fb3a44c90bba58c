-- Signed progress callbacks (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature
-- over "id.timestamp.body"), cycling over the jobs with a unique webhook-id per request and a
-- progress value that moves. BENCH_SECRET_HEX is the raw key; BENCH_RUN makes ids unique per run.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local hmac = require("hmac")

local ids, i, sign, run = nil, 0, nil, nil
local counts = {}

setup = common.setup

function init()
  ids = common.read_jobs(os.getenv("BENCH_JOBS"))
  sign = hmac.signer(hmac.from_hex(os.getenv("BENCH_SECRET_HEX")))
  run = os.getenv("BENCH_RUN") .. "_" .. (thread_index or 1)
  i = (thread_index or 1) * 97
end

function request()
  i = i + 1
  local id = ids[i % #ids + 1]
  local progress = math.floor(i / #ids) % 99 + 1
  local body = '{"job_id":"' .. id .. '","status":"processing","progress":' .. progress
    .. ',"message":"Transcribing","result":null,"error_message":null,"error_code":null}'
  local webhook_id = "msg_" .. run .. "_" .. i
  local timestamp = tostring(os.time())
  local signature = "v1," .. hmac.base64(sign(webhook_id .. "." .. timestamp .. "." .. body))
  return wrk.format("POST", "/api/upload-video/result", {
    ["Content-Type"] = "application/json",
    ["webhook-id"] = webhook_id,
    ["webhook-timestamp"] = timestamp,
    ["webhook-signature"] = signature,
  }, body)
end

-- Every answer is checked: a 200 must say "received" (not "ignored", not an error envelope).
function response(status, headers, body)
  if status == 200 and body:find('"status":"received"', 1, true) then
    common.count(counts, "received")
  else
    common.count(counts, "other")
    if not sample then sample = status .. " " .. body:sub(1, 300) end
  end
  received, other = counts.received or 0, counts.other or 0
end

function done(summary, latency)
  common.done(summary, latency, { "received", "other" })
end
