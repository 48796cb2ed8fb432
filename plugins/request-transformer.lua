--
-- request-transformer: rewrites what the upstream receives
-- (docs/plugins-shipped.md, "request-transformer"): request headers,
-- query arguments and the members of a JSON object body, by operations
-- applied in this order: remove, rename, replace (only what is there),
-- add (only what is not there), append (headers and arguments: another
-- copy).
--
-- The query string is rewritten as text: arguments are split at "&",
-- their names percent-decoded ("+" is a space) for comparison, so
-- "%61dmin" is removed as "admin", and every argument no operation
-- names is kept byte for byte, in its place.
--
-- The body: read only when body operations are configured, and only for
-- a JSON media type.  A body past gw_plugin_body_max gets a 413 problem,
-- one that is not a JSON object (or holds a number of 16 digits or more,
-- which a Lua number would round) a 400 problem: a member the operator
-- removes never reaches the upstream by being too large or odd
-- ("body_failure": "pass" forwards such bodies unchanged instead).
--

local gw = gw
local headerops = require("headerops")
local jsonbody = require("jsonbody")
local byte = string.byte
local char = string.char
local find = string.find
local format = string.format
local gsub = string.gsub
local lower = string.lower
local sub = string.sub
local concat = table.concat
local tonumber = tonumber
local type = type

local P = {
    priority = 800,
    early = false,
    body = true,
}

-- arguments of a query string looked at (the rest is kept as it is)
local ARGS_MAX = 1000


-- {name, value} pairs of an object of the configuration, sorted by name so
-- that the order of the operations does not depend on a hash
local function pairs_of(t, lower_names)
    local out = {}

    if t == nil then
        return out
    end

    for k, v in pairs(t) do
        out[#out + 1] = { lower_names and lower(k) or k, v }
    end

    table.sort(out, function(a, b) return a[1] < b[1] end)

    return out
end


local function list_of(t, lower_names)
    local out = {}

    for i, v in ipairs(t or {}) do
        out[i] = lower_names and lower(v) or v
    end

    return out
end


-- the operations of one kind of target: headers, query or body
local function ops_of(conf, part, lower_names)
    local o = {
        remove = list_of(conf.remove and conf.remove[part], lower_names),
        rename = pairs_of(conf.rename and conf.rename[part], lower_names),
        replace = pairs_of(conf.replace and conf.replace[part], false),
        add = pairs_of(conf.add and conf.add[part], false),
        append = pairs_of(conf.append and conf.append[part], false),
    }

    if #o.remove + #o.rename + #o.replace + #o.add + #o.append == 0 then
        return nil
    end

    return o
end


function P.init(conf)
    return {
        headers = ops_of(conf, "headers", false),
        query = ops_of(conf, "query", false),
        body = ops_of(conf, "body", false),
        body_pass = conf.body_failure == "pass",
    }
end


local function unhex(h)
    return char(tonumber(h, 16))
end


local function decode(s)
    s = gsub(s, "+", " ")
    return (gsub(s, "%%(%x%x)", unhex))
end


local function hex(c)
    return format("%%%02X", byte(c))
end


local function encode(s)
    return (gsub(s, "[^%w%-._~]", hex))
end


-- an item of the client's query made valid for gw.req.set_args(): a "%"
-- not followed by two hex digits becomes "%25", a byte RFC 3986 does not
-- allow in a query is percent-encoded
local function pct(h)
    if #h == 2 then
        return "%" .. h
    end

    return "%25" .. h
end


local function clean(item)
    item = gsub(item, "%%(%x?%x?)", pct)
    return (gsub(item, "[^%w%-._~!$&'()*+,;=:@/?%%]", hex))
end


local function has_arg(names, n, name)
    for i = 1, n do
        if names[i] == name then
            return true
        end
    end

    return false
end


-- The query string rewritten, or nil when no operation changed it.
-- args: the raw "name=value" items, names: their decoded names.
local function query(o)
    local uri = gw.req.uri()
    local q = find(uri, "?", 1, true)
    local args, names, n = {}, {}, 0
    local changed = false

    if q ~= nil then
        for item in string.gmatch(sub(uri, q + 1), "[^&]+") do
            n = n + 1

            if n > ARGS_MAX then
                return nil, "too many arguments"
            end

            local eq = find(item, "=", 1, true)
            args[n] = item
            names[n] = decode(eq and sub(item, 1, eq - 1) or item)
        end
    end

    for i = 1, #o.remove do
        local name = o.remove[i]

        for j = 1, n do
            if names[j] == name then
                args[j] = false
                names[j] = false
                changed = true
            end
        end
    end

    for i = 1, #o.rename do
        local from, to = o.rename[i][1], o.rename[i][2]

        for j = 1, n do
            if names[j] == from then
                local eq = find(args[j], "=", 1, true)
                args[j] = encode(to) .. (eq and sub(args[j], eq) or "")
                names[j] = to
                changed = true
            end
        end
    end

    for i = 1, #o.replace do
        local name, value = o.replace[i][1], o.replace[i][2]

        for j = 1, n do
            if names[j] == name then
                args[j] = encode(name) .. "=" .. encode(value)
                changed = true
            end
        end
    end

    for i = 1, #o.add do
        local name, value = o.add[i][1], o.add[i][2]

        if not has_arg(names, n, name) then
            n = n + 1
            args[n] = encode(name) .. "=" .. encode(value)
            names[n] = name
            changed = true
        end
    end

    for i = 1, #o.append do
        local name, value = o.append[i][1], o.append[i][2]
        n = n + 1
        args[n] = encode(name) .. "=" .. encode(value)
        names[n] = name
        changed = true
    end

    if not changed then
        return nil
    end

    local out, m = {}, 0

    for j = 1, n do
        if args[j] then
            m = m + 1
            out[m] = clean(args[j])
        end
    end

    return concat(out, "&")
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


local function body(c)
    if not is_json(gw.req.header("content-type")) then
        return
    end

    local b, err = gw.req.body()

    if b == nil then
        if err == nil then
            return                  -- no body
        end

        gw.log.info("body not rewritten: " .. tostring(err))

        if c.body_pass then
            return
        end

        return gw.problem(413, "Body too large",
                          "the request body is too large to be rewritten")
    end

    if b == "" then
        return
    end

    local text, why = jsonbody.rewrite(c.body, b)

    if text == nil then
        gw.log.info("body not rewritten: " .. why)

        if c.body_pass then
            return
        end

        return gw.problem(400, "Body not rewritable",
                          "the JSON body cannot be rewritten: " .. why)
    end

    gw.req.set_body(text)
end


function P.access(c, ctx)
    if c.headers ~= nil then
        headerops.apply(gw.req, c.headers)
    end

    if c.query ~= nil then
        local q, err = query(c.query)

        if err ~= nil then
            gw.log.info("query not rewritten: " .. err)
            return gw.problem(400, "Query not rewritable",
                              "the query string has too many arguments")
        end

        if q ~= nil then
            gw.req.set_args(q)
        end
    end

    if c.body ~= nil then
        return body(c)
    end
end


return P
