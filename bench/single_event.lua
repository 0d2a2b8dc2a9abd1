-- wrk body script of bench/bench_single.py: POST /track, one small event per request, each with an
-- event_id of its own (run nonce from the command line, thread number, counter), so every event is new, and
-- the write key given after the nonce (if any) as X-API-Key.
--   wrk -t2 -c16 -d10s -s bench/single_event.lua http://127.0.0.1:PORT -- NONCE [WRITE_KEY]
local threads = 0
local types = {"page_view", "click", "add_to_cart", "search", "purchase"}
local headers = {["Content-Type"] = "application/json"}
local nonce, prefix, counter = "run", "", 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  nonce = args[1] or nonce
  if args[2] then
    headers["X-API-Key"] = args[2]
  end
  prefix = string.format("%s-%d-", nonce, thread_number)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"event_type":"%s","user_id":"user-%d","value":%d.5,"event_id":"%s%d","properties":{"page":"/p/%d"}}',
    types[counter % 5 + 1], counter % 997, counter % 100, prefix, counter, counter % 13)
  return wrk.format("POST", "/track", headers, body)
end
