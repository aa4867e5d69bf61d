-- wrk script: POST pre-signed GitHub deliveries, each with a delivery id of its own.
-- The signature covers the body only, so one signature per body serves every id.
-- Arguments: DATA_FILE RUN_ID; DATA_FILE lines are "event<TAB>signature<TAB>body".
local threads = {}
local counter = 0
local items = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local event, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    table.insert(items, {event = event, signature = signature, body = body})
  end
  run_id = args[2]
end

function request()
  counter = counter + 1
  local item = items[(counter % #items) + 1]
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = item.event,
    ["X-GitHub-Delivery"] = run_id .. "-" .. tid .. "-" .. counter,
    ["X-Hub-Signature-256"] = item.signature,
  }
  return wrk.format("POST", wrk.path, headers, item.body)
end
