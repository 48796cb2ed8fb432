--
-- response-transformer: rewrites what the client receives
-- (docs/plugins-shipped.md, "response-transformer"): response headers in
-- the header filter, and the members of a JSON object body in the body
-- filter, by operations in this order: remove, rename, replace (only
-- what is there), add (only what is not there), append (headers: another
-- copy).
--
-- A body is rewritten only when body operations are configured and the
-- response is JSON (a JSON media type, no Content-Encoding, a status
-- with a body, not HEAD): its chunks are held back until the last one,
-- up to body_max bytes, then decoded, rewritten and sent as one chunk,
-- without Content-Length (the length changed; the response is chunked).
-- A body past body_max, not a JSON object, or with a number of 16 digits
-- or more (a Lua number would round it) passes unchanged, logged at info.
--

local gw = gw
local headerops = require("headerops")
local jsonbody = require("jsonbody")
local find = string.find
local lower = string.lower
local concat = table.concat
local type = type
local pcall = pcall

local P = {
    priority = 790,
    early = false,
    body = false,
}


local function pairs_of(t)
    local out = {}

    for k, v in pairs(t or {}) do
        out[#out + 1] = { k, v }
    end

    table.sort(out, function(a, b) return a[1] < b[1] end)

    return out
end


local function ops_of(conf, part)
    local o = {
        remove = {},
        rename = pairs_of(conf.rename and conf.rename[part]),
        replace = pairs_of(conf.replace and conf.replace[part]),
        add = pairs_of(conf.add and conf.add[part]),
        append = pairs_of(conf.append and conf.append[part]),
    }

    for i, v in ipairs(conf.remove and conf.remove[part] or {}) do
        o.remove[i] = v
    end

    if #o.remove + #o.rename + #o.replace + #o.add + #o.append == 0 then
        return nil
    end

    return o
end


function P.init(conf)
    return {
        headers = ops_of(conf, "headers"),
        body = ops_of(conf, "body"),
        body_max = conf.body_max or 1048576,
    }
end


local function is_json(ct)
    if ct == nil then
        return false
    end

    ct = lower(ct)

    return find(ct, "^%s*application/json%s*$") ~= nil
           or find(ct, "^%s*application/json%s*;") ~= nil
           or find(ct, "^%s*application/[%w!#$&^_.%-]+%+json%s*$") ~= nil
           or find(ct, "^%s*application/[%w!#$&^_.%-]+%+json%s*;") ~= nil
end


-- why the response body is not rewritten, or nil
local function skip_body(c)
    local status = gw.resp.status()

    if status == 204 or status == 304 or status < 200
       or gw.req.method() == "HEAD"
    then
        return "no body"
    end

    if not is_json(gw.resp.header("content-type")) then
        return "not JSON"
    end

    local ce = gw.resp.header("content-encoding")

    if ce ~= nil and lower(ce) ~= "identity" then
        return "encoded"
    end

    local len = tonumber(gw.resp.header("content-length"))

    if len ~= nil and len > c.body_max then
        return "too large"
    end

    return nil
end


function P.header_filter(c, ctx)
    if c.headers ~= nil then
        headerops.apply(gw.resp, c.headers)
    end

    if c.body == nil then
        return
    end

    local why = skip_body(c)

    if why ~= nil then
        if why == "too large" or why == "encoded" then
            gw.log.info("body not rewritten: " .. why)
        end

        return
    end

    ctx.buf = {}
    ctx.n = 0
    ctx.size = 0

    -- the length changes: the runtime drops Content-Length of a response
    -- a body filter may change; where it lets a plugin do it, do it here
    pcall(gw.resp.remove_header, "Content-Length")
end


function P.body_filter(c, ctx, chunk, eof)
    local buf = ctx.buf

    if buf == nil then
        return chunk
    end

    chunk = chunk or ""

    if ctx.size + #chunk > c.body_max then
        -- past the cap: what was held back, then everything as it comes
        gw.log.info("body not rewritten: larger than " .. c.body_max
                    .. " bytes")
        ctx.buf = nil
        buf[ctx.n + 1] = chunk
        return concat(buf)
    end

    if #chunk > 0 then
        ctx.n = ctx.n + 1
        buf[ctx.n] = chunk
        ctx.size = ctx.size + #chunk
    end

    if not eof then
        return nil
    end

    ctx.buf = nil

    local body = concat(buf)
    local text, why = jsonbody.rewrite(c.body, body)

    if text == nil then
        gw.log.info("body not rewritten: " .. why)
        return body
    end

    return text
end


return P
