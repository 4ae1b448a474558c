-- wrk script for bench/fleet_load.py: replays heartbeats that Python pre-signed, each once.
--
--   wrk -t T -c C -d S --latency -s bench/fleet_load_heartbeat.lua URL -- FILE
--
-- FILE: line 1 is the body up to the terminal id, line 2 the body after it, then one
-- request per line "TERMINAL TIMESTAMP NONCE BODY_SHA256 SIGNATURE". Thread k of T sends
-- lines k, k+T, k+2T, ... so no nonce is sent twice; a thread that runs out stops (and says
-- so) rather than replay one. Every answer but 200 is counted; done() prints one line of
-- "key=value" pairs that fleet_load.py parses.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("index", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   local path = args[1]
   local nthreads = tonumber(args[2])
   local f = assert(io.open(path, "r"))
   prefix = f:read("*l")
   suffix = f:read("*l")
   lines = {}
   local k, n = 0, 0
   for line in f:lines() do
      if k % nthreads == index then
         n = n + 1
         lines[n] = line
      end
      k = k + 1
   end
   f:close()
   total, next_line = n, 1
   if index == 0 and n > 0 then
      -- wrk calls thread 0's request() once before the run to check the script; that call
      -- takes this copy, which is never sent, so the first real line is sent exactly once
      lines[0] = lines[1]
      next_line = 0
   end
   ok, non200, exhausted, first_bad = 0, 0, 0, ""
   host = wrk.host .. ":" .. tostring(wrk.port)
end

function request()
   if next_line > total then
      exhausted = 1
      wrk.thread:stop()
      return "GET /exhausted HTTP/1.1\r\nHost: " .. host .. "\r\n\r\n"
   end
   local tid, ts, nonce, sha, sig = lines[next_line]:match("^(%S+) (%S+) (%S+) (%S+) (%S+)$")
   next_line = next_line + 1
   local body = prefix .. tid .. suffix
   return "POST /v1/terminals/" .. tid .. "/heartbeat HTTP/1.1\r\nHost: " .. host ..
      "\r\nContent-Type: application/json\r\nContent-Length: " .. #body ..
      "\r\nX-Kiosk-Terminal: " .. tid .. "\r\nX-Kiosk-Timestamp: " .. ts ..
      "\r\nX-Kiosk-Nonce: " .. nonce .. "\r\nX-Kiosk-Content-SHA256: " .. sha ..
      "\r\nX-Kiosk-Signature: " .. sig .. "\r\n\r\n" .. body
end

function response(status, headers, body)
   if exhausted == 1 then
      return
   end
   if status == 200 then
      ok = ok + 1
   else
      non200 = non200 + 1
      if first_bad == "" then
         first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 160)
      end
   end
end

function done(summary, latency, requests)
   local ok_n, bad_n, ex_n, bad = 0, 0, 0, ""
   for _, t in ipairs(threads) do
      ok_n = ok_n + t:get("ok")
      bad_n = bad_n + t:get("non200")
      ex_n = ex_n + t:get("exhausted")
      if bad == "" then bad = t:get("first_bad") end
   end
   local e = summary.errors
   io.write(string.format(
      "FLEETLOAD ok=%d non200=%d exhausted=%d duration_us=%d requests=%d connect=%d read=%d " ..
      "write=%d timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d first_bad=%s\n",
      ok_n, bad_n, ex_n, summary.duration, summary.requests, e.connect, e.read, e.write,
      e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, (bad:gsub("%s", "_"))))
end
