--
-- request-termination: answers every request itself, before
-- authentication, so no upstream is reached (docs/plugins-shipped.md,
-- "request-termination"): a maintenance window, a retired route.
--
-- The answer: a problem+json of the status (400 to 599) whose detail is
-- "message"; or "body" sent as it is with "content_type"; or, with
-- neither, an empty body.  retry_after adds Retry-After (seconds).
--

local gw = gw

local P = {
    priority = 2700,
    early = true,
    body = false,
}

local TITLES = {
    [400] = "Bad request", [403] = "Forbidden", [404] = "Not found",
    [410] = "Gone", [429] = "Too many requests",
    [500] = "Internal server error", [501] = "Not implemented",
    [502] = "Bad gateway", [503] = "Service unavailable",
}


function P.init(conf)
    local c = {
        status = conf.status or 503,
        body = conf.body,
        headers = {},
    }

    if conf.retry_after ~= nil then
        c.headers["Retry-After"] = tostring(conf.retry_after)
    end

    if c.body ~= nil then
        c.headers["Content-Type"] = conf.content_type
                                    or "text/plain; charset=utf-8"

    elseif c.status >= 400 then
        c.problem = true
        c.title = conf.title or TITLES[c.status] or "Request terminated"
        c.message = conf.message or "the service is not available"
    end

    return c
end


function P.access(c, ctx)
    if c.problem then
        for name, value in pairs(c.headers) do
            gw.resp.set_header(name, value)
        end

        return gw.problem(c.status, c.title, c.message)
    end

    return gw.exit(c.status, c.body or "", c.headers)
end


return P
