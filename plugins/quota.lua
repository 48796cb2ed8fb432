--
-- quota: a daily request quota per consumer, counted in Redis
-- (docs/plugins-shipped.md, "quota"), after authentication.
--
-- Each request of a consumer (or, with "by": "ip", of a client address)
-- runs INCR on the key of the current UTC day,
--     <name>:<consumer id>:<day>                     (day: days since 1970)
-- (gw.redis sends it as gw:plugin:quota:<name>:...) and EXPIRE on it when it was created, so that the counts of the last
-- "history" days stay readable.  Past "limit", the request gets a 429
-- problem with Retry-After (seconds to the next UTC midnight).  Every
-- request counted gets the fields the gateway's rate limits use:
--     RateLimit-Policy: "<name>";q=<limit>;w=86400
--     RateLimit: "<name>";r=<remaining>;t=<seconds to midnight>
--
-- The report: a GET to "report_path" (when configured) is answered by
-- the plugin with the consumer's own usage as JSON, today and the days
-- before, without counting it:
--     {"consumer":"alice","limit":1000,"used":42,"remaining":958,
--      "reset":"2025-01-02T00:00:00Z","reset_in":3600,
--      "days":[{"date":"2025-01-01","used":42}, ...]}
--
-- Redis unavailable (an error, a timeout): the request passes uncounted
-- ("redis_down": "allow", the default; logged at error) or gets a 503
-- problem ("deny").  A request without a consumer (no authentication in
-- front) is neither counted nor refused.
--

local gw = gw
local floor = math.floor
local format = string.format
local unpack = unpack or table.unpack

local P = {
    priority = 900,
    early = false,
    body = false,
}

local DAY = 86400


function P.init(conf)
    local c = {
        limit = conf.limit,
        name = conf.name or "daily",
        by_ip = conf.by == "ip",
        history = conf.history or 7,
        report_path = conf.report_path,
        deny_down = conf.redis_down == "deny",
        headers = conf.headers ~= false,
    }

    c.prefix = c.name .. ":"
    c.policy = format("\"%s\";q=%d;w=%d", c.name, c.limit, DAY)
    c.ttl = (c.history + 1) * DAY

    return c
end


-- the date of day d (days since 1970-01-01) as "YYYY-MM-DD" (proleptic
-- Gregorian, days in eras of 400 years)
local function date_of(d)
    local z = d + 719468
    local era = floor(z / 146097)
    local doe = z - era * 146097
    local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524)
                       - floor(doe / 146096)) / 365)
    local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
    local mp = floor((5 * doy + 2) / 153)
    local day = doy - floor((153 * mp + 2) / 5) + 1
    local month = mp < 10 and mp + 3 or mp - 9
    local year = yoe + era * 400 + (month <= 2 and 1 or 0)

    return format("%04d-%02d-%02d", year, month, day)
end


local function who(c)
    if c.by_ip then
        return gw.req.client_ip()
    end

    local consumer = gw.consumer()

    return consumer and consumer.id
end


local function unavailable(c, err)
    gw.log.err("redis: " .. tostring(err or "no reply"))

    if c.deny_down then
        return gw.problem(503, "Quota unavailable",
                          "the request quota cannot be checked now")
    end
end


local function report(c, id, today, reset_in)
    local keys = {}

    for i = 0, c.history - 1 do
        keys[i + 1] = c.prefix .. id .. ":" .. (today - i)
    end

    local reply, err = gw.redis("MGET", unpack(keys))

    if type(reply) ~= "table" then
        gw.log.err("redis: " .. tostring(err or "no reply"))
        return gw.problem(503, "Quota unavailable",
                          "the request quota cannot be read now")
    end

    local days = {}

    for i = 1, c.history do
        days[i] = {
            date = date_of(today - i + 1),
            used = tonumber(reply[i]) or 0,
        }
    end

    local used = days[1].used
    local remaining = c.limit - used

    return gw.exit(200, {
        consumer = id,
        limit = c.limit,
        used = used,
        remaining = remaining > 0 and remaining or 0,
        reset = date_of(today + 1) .. "T00:00:00Z",
        reset_in = reset_in,
        days = days,
    }, { ["Cache-Control"] = "no-store" })
end


function P.access(c, ctx)
    local id = who(c)

    if id == nil then
        return
    end

    local now = gw.time()
    local today = floor(now / DAY)
    local reset_in = (today + 1) * DAY - floor(now)

    if c.report_path ~= nil and gw.req.path() == c.report_path
       and gw.req.method() == "GET"
    then
        return report(c, id, today, reset_in)
    end

    local key = c.prefix .. id .. ":" .. today
    local n, err = gw.redis("INCR", key)

    if type(n) ~= "number" then
        return unavailable(c, err)
    end

    if n == 1 then
        local ok
        ok, err = gw.redis("EXPIRE", key, c.ttl)

        if ok == nil then
            gw.log.err("redis: " .. tostring(err or "no reply"))
        end
    end

    local remaining = c.limit - n

    if c.headers then
        gw.resp.set_header("RateLimit-Policy", c.policy)
        gw.resp.set_header("RateLimit", format("\"%s\";r=%d;t=%d", c.name,
                           remaining > 0 and remaining or 0, reset_in))
    end

    if remaining < 0 then
        gw.resp.set_header("Retry-After", tostring(reset_in))
        gw.log.info("daily quota of " .. c.limit .. " exceeded")
        return gw.problem(429, "Quota exceeded",
                          format("daily quota of %d requests exceeded; "
                                 .. "retry in %d s", c.limit, reset_in))
    end
end


return P
