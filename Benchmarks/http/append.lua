-- wrk script: each request POSTs a batch of EVENTS CallPlaced events (env LEDGERD_BATCH, default 1)
-- with new ids, to a few streams per thread, each request waiting for its durable reply.
local batch = tonumber(os.getenv("LEDGERD_BATCH") or "1")
local threads = {}
local counter = 0


function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
end

local function event()
    counter = counter + 1
    local id = string.format("%08x-0000-4000-8000-%012x", tid, counter)
    return '{"id":"' .. id .. '","stream":"bench-' .. tid .. '/p0/' .. (counter % 997) ..
        '","type":"CallPlaced","platform":"cpam-34","occurredAt":"2021-03-01T09:00:00Z",' ..
        '"data":{"direction":"OUTBOUND","line":"MOBILE","outcome":"REACHED"}}'
end

function request()
    local parts = {}
    for i = 1, batch do parts[i] = event() end
    return wrk.format(nil, "/v1/events", nil, "[" .. table.concat(parts, ",") .. "]")
end

local failures = 0
function response(status, headers, body)
    if status ~= 200 then
        failures = failures + 1
        if failures <= 3 then io.stderr:write("status " .. status .. ": " .. body .. "\n") end
    end
end
