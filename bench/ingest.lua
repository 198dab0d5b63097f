-- wrk script for bench/ingest.py: each wrk thread replays its own file of pre-signed Saleor deliveries.
-- args: <file prefix> <Saleor-Api-Url>; thread N reads "<prefix>-N.txt", one "<signature>\t<body>" per line.
-- Threads never share a file, so within one pass every request carries a body no other request carries.
-- If a thread runs out it starts over (counted in "wraps": those requests are duplicates for the server).

local thread_seq = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", thread_seq)
  thread_seq = thread_seq + 1
  table.insert(threads, thread)
end

function init(args)
  local prefix, api_url = args[1], args[2]
  requests_ = {}
  for line in io.lines(prefix .. "-" .. thread_id .. ".txt") do
    local tab = string.find(line, "\t", 1, true)
    local headers = {
      ["Content-Type"] = "application/json",
      ["Saleor-Event"] = "order_fully_paid",
      ["Saleor-Domain"] = "bench-shop.example",
      ["Saleor-Api-Url"] = api_url,
      ["Saleor-Signature"] = string.sub(line, 1, tab - 1),
    }
    requests_[#requests_ + 1] = wrk.format("POST", "/api/webhooks/orders", headers, string.sub(line, tab + 1))
  end
  index = 0
  wraps = 0
end

function request()
  index = index + 1
  if index > #requests_ then
    index = 1
    wraps = wraps + 1
  end
  return requests_[index]
end

function done(summary, latency, requests)
  local wrapped = 0
  for _, thread in ipairs(threads) do
    wrapped = wrapped + (thread:get("wraps") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
      .. '"status_errors": %d, "timeouts": %d, "mean_us": %.1f, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"wraps": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99), latency.max, wrapped))
end
