--
-- cors: Cross-Origin Resource Sharing (docs/plugins-shipped.md, "cors").
--
-- A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
-- answered here, before authentication (early), since browsers send it
-- without credentials: 204 with the allowed methods, headers and max age
-- when the origin is allowed; a 403 problem without any CORS header when
-- it is not (the Fetch standard fails such a preflight either way; the
-- problem tells a person reading it why).  Every other response gets
-- Access-Control-Allow-Origin (and Credentials, Expose-Headers) in the
-- header filter when its request's Origin is allowed, and Vary: Origin
-- whenever the answer depends on the origin.
--
-- Origins compare byte for byte, as the Fetch standard compares them:
-- "https://App.example" or "https://app.example." is another origin.  A
-- request with Origin given twice is not a CORS request we answer.  "*"
-- allows every origin and is answered as "*" (never echoed), so it never
-- goes with credentials: the schema refuses the pair, and init too.
--

local gw = gw
local find = string.find
local concat = table.concat

local P = {
    priority = 2800,
    early = true,
    body = false,
    access_methods = { "OPTIONS" },     -- preflights; the header filter
                                        -- answers the others
}

local DEFAULT_METHODS = { "GET", "HEAD", "PUT", "PATCH", "POST", "DELETE" }

local VARY_ORIGIN = "Origin"
local VARY_PREFLIGHT = "Origin, Access-Control-Request-Method, "
                       .. "Access-Control-Request-Headers"

-- the longest Access-Control-Request-Headers echoed back
local REQUEST_HEADERS_MAX = 1024


-- the headers of an actual response for that Access-Control-Allow-Origin
local function answer(c, origin)
    local h = { "Access-Control-Allow-Origin", origin }

    if c.credentials then
        h[#h + 1] = "Access-Control-Allow-Credentials"
        h[#h + 1] = "true"
    end

    if c.expose ~= nil then
        h[#h + 1] = "Access-Control-Expose-Headers"
        h[#h + 1] = c.expose
    end

    return h
end


function P.init(conf)
    local c = {
        any = false,
        allowed = {},
        credentials = conf.credentials == true,
        methods = concat(conf.methods or DEFAULT_METHODS, ", "),
        max_age = tostring(conf.max_age or 600),
    }

    for _, o in ipairs(conf.origins) do
        if o == "*" then
            c.any = true
        else
            c.allowed[o] = true
        end
    end

    if c.any and c.credentials then
        error("\"*\" among the origins with credentials", 0)
    end

    if conf.headers ~= nil then
        c.headers = concat(conf.headers, ", ")
    end

    if conf.exposed_headers ~= nil and #conf.exposed_headers > 0 then
        c.expose = concat(conf.exposed_headers, ", ")
    end

    -- the header filter's answers, prepared once (gw.resp.prepare): by
    -- allowed origin, or the one of "*"; Vary: Origin with each unless
    -- "*" makes the answer the same for every request
    local vary = nil

    if not c.any then
        vary = { "Vary", VARY_ORIGIN }
    end

    c.answers = {}

    for o in pairs(c.allowed) do
        c.answers[o] = gw.resp.prepare(answer(c, o), vary)
    end

    if c.any then
        c.answer_any = gw.resp.prepare(answer(c, "*"))
    end

    return c
end


-- The value of Access-Control-Allow-Origin for this request: "*", the
-- origin itself, or nil (no Origin, not allowed, or Origin twice).
local function allow_origin(c)
    local o, n = gw.req.header("origin", true)

    if o == nil then
        return nil
    end

    if c.any then
        return "*"
    end

    if c.allowed[o] == nil or n > 1 then
        return nil
    end

    return o
end


function P.access(c, ctx)
    local origin = allow_origin(c)

    -- decided once: the header filter answers from ctx
    ctx.decided = true
    ctx.origin = origin

    if gw.req.method() ~= "OPTIONS"
       or gw.req.header("access-control-request-method") == nil
       or gw.req.header("origin") == nil
    then
        return
    end

    ctx.preflight = true

    if origin == nil then
        gw.log.info("preflight from an origin not allowed")
        return gw.problem(403, "Origin not allowed",
                          "the request's Origin is not allowed here")
    end

    local h = {
        ["Access-Control-Allow-Origin"] = origin,
        ["Access-Control-Allow-Methods"] = c.methods,
        ["Access-Control-Max-Age"] = c.max_age,
        ["Vary"] = VARY_PREFLIGHT,
    }

    if c.credentials then
        h["Access-Control-Allow-Credentials"] = "true"
    end

    local allow = c.headers

    if allow == nil then
        -- no list configured: echo what the browser asks for, when it is
        -- a list of header names of a sane length
        local asked = gw.req.header("access-control-request-headers")

        if asked ~= nil and #asked <= REQUEST_HEADERS_MAX
           and not find(asked, "[^%w!#$%%&'*+.^_`|~%-, \t]")
        then
            allow = asked
        end
    end

    if allow ~= nil and allow ~= "" then
        h["Access-Control-Allow-Headers"] = allow
    end

    return gw.exit(204, nil, h)
end


function P.header_filter(c, ctx)
    if ctx.preflight then
        return                      -- our own answer, or its 403
    end

    local origin

    if ctx.decided then
        origin = ctx.origin
    else
        origin = allow_origin(c)    -- answered before the access phase
    end

    if origin == nil and gw.req.header("origin") ~= nil then
        -- not allowed (or Origin twice): the plugin owns the CORS
        -- headers, none from the upstream
        gw.resp.remove_header("Access-Control-Allow-Origin")
        gw.resp.remove_header("Access-Control-Allow-Credentials")
    end

    -- one call for them all, checked at init
    if c.any then
        return gw.resp.apply(c.answer_any)  -- the same for every request
    end

    if origin ~= nil then
        return gw.resp.apply(c.answers[origin])
    end

    gw.resp.add_header("Vary", VARY_ORIGIN)
end


return P
