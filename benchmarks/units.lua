-- wrk: POST one row for a unit drawn at random from UNITS (default 50,000) units.
local units = tonumber(os.getenv("UNITS") or "50000")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format('{"unit":"u%d","instances":[{"a":0.1,"b":-0.3,"c":1.2}]}', math.random(1, units))
  return wrk.format(nil, nil, nil, body)
end
