--
-- ip-restriction: allows or denies a request by its client's address
-- (docs/plugins-shipped.md, "ip-restriction"), before authentication.
--
-- Every address is held as IPv6 in four 32-bit words; an IPv4 address is
-- its IPv4-mapped form ::ffff:a.b.c.d (a /n IPv4 block is a /96+n), so
-- the client ::ffff:10.1.2.3 and the client 10.1.2.3 are the same client
-- for every rule.  The rules are parsed once in init and sorted by prefix
-- length, longest first, deny before allow at the same length: the first
-- rule that contains the address decides.  No rule: allowed when the
-- allow list is empty, denied otherwise.
--
-- Behind proxies: when the peer ($remote_addr) is one of trusted_proxies,
-- X-Forwarded-For (every copy, in order) is walked from the right, each
-- trusted hop skipped; the first untrusted address is the client.  An
-- entry that is not a bare IPv4 or IPv6 address (a port, a zone, a name,
-- "unknown", an empty item) makes the client unknown, and an unknown
-- client is denied whatever the lists say: such an entry was written by
-- a client, never by a trusted proxy that appends what it saw.
--

local gw = gw
local bit = bit
local band = bit.band
local lshift = bit.lshift
local byte = string.byte
local find = string.find
local match = string.match
local sub = string.sub
local concat = table.concat
local tonumber = tonumber
local type = type

local P = {
    priority = 3000,
    early = true,
    body = false,
}

-- trusted hops skipped at most, X-Forwarded-For bytes looked at at most
local HOPS_MAX = 32
local XFF_MAX = 8192

-- scratch: the 16-bit groups of the address being parsed
local g = { 0, 0, 0, 0, 0, 0, 0, 0 }
local g2 = { 0, 0, 0, 0, 0, 0, 0, 0 }


local function v4(s)
    local a, b, c, d = match(s, "^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")

    if a == nil then
        return nil
    end

    a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)

    if a > 255 or b > 255 or c > 255 or d > 255 then
        return nil
    end

    -- no leading zeros: "010" is octal to some parsers
    if find(s, "^0%d") or find(s, "%.0%d") then
        return nil
    end

    return ((a * 256 + b) * 256 + c) * 256 + d
end


-- the 16-bit groups of the text of one side of "::" into t from index i;
-- returns the next index, or nil; tail: an IPv4 address may end it
local function groups(s, t, i, tail)
    if s == "" then
        return i
    end

    local pos = 1
    local len = #s

    while true do
        local colon = find(s, ":", pos, true)
        local part = sub(s, pos, (colon or len + 1) - 1)

        if colon == nil and tail and find(part, ".", 1, true) then
            local w = v4(part)

            if w == nil or i > 7 then
                return nil
            end

            t[i] = (w - w % 65536) / 65536
            t[i + 1] = w % 65536
            return i + 2
        end

        if i > 8 or not find(part, "^%x%x?%x?%x?$") then
            return nil
        end

        t[i] = tonumber(part, 16)
        i = i + 1

        if colon == nil then
            return i
        end

        pos = colon + 1
    end
end


-- The four 32-bit words of the address text s, or nil.
local function parse(s)
    if s == nil or #s > 45 then
        return nil
    end

    if not find(s, ":", 1, true) then
        local w = v4(s)

        if w == nil then
            return nil
        end

        return 0, 0, 0xffff, w
    end

    local dc = find(s, "::", 1, true)

    if dc == nil then
        if groups(s, g, 1, true) ~= 9 then
            return nil
        end

    else
        local tail = sub(s, dc + 2)

        if find(tail, "::", 1, true) then
            return nil
        end

        local h = groups(sub(s, 1, dc - 1), g, 1, false)

        if h == nil then
            return nil
        end

        local t = groups(tail, g2, 1, true)

        if t == nil then
            return nil
        end

        local nt = t - 1
        local zeros = 8 - (h - 1) - nt

        if zeros < 1 then
            return nil
        end

        for k = h, h + zeros - 1 do
            g[k] = 0
        end

        for k = 1, nt do
            g[h + zeros + k - 1] = g2[k]
        end
    end

    return g[1] * 65536 + g[2], g[3] * 65536 + g[4],
           g[5] * 65536 + g[6], g[7] * 65536 + g[8]
end


-- a rule: the network's words and masks, its prefix length and verdict
local function rule(cidr, deny)
    local addr, len = match(cidr, "^([^/]+)/(%d+)$")

    addr = addr or cidr

    local a, b, c, d = parse(addr)

    if a == nil then
        error("\"" .. cidr .. "\" is not an address or CIDR block", 0)
    end

    local v6 = find(addr, ":", 1, true) ~= nil
    local max = v6 and 128 or 32

    len = len and tonumber(len) or max

    if len > max then
        error("\"" .. cidr .. "\": prefix longer than " .. max, 0)
    end

    if not v6 then
        len = len + 96
    end

    local r = { prefix = len, deny = deny }
    local w = { a, b, c, d }

    for k = 1, 4 do
        local bits = len - (k - 1) * 32
        local mask

        if bits >= 32 then
            mask = -1
        elseif bits <= 0 then
            mask = 0
        else
            mask = lshift(-1, 32 - bits)
        end

        r[k] = mask
        r[k + 4] = band(w[k], mask)
    end

    return r
end


local function rules(list, deny, out)
    for _, cidr in ipairs(list or {}) do
        out[#out + 1] = rule(cidr, deny)
    end

    return out
end


function P.init(conf)
    local all = {}

    rules(conf.deny, true, all)
    rules(conf.allow, false, all)

    table.sort(all, function(x, y)
        if x.prefix ~= y.prefix then
            return x.prefix > y.prefix
        end

        return x.deny and not y.deny
    end)

    local c = {
        rules = all,
        nrules = #all,
        default_deny = conf.allow ~= nil and #conf.allow > 0,
        header = string.lower(conf.forwarded_header or "X-Forwarded-For"),
    }

    if conf.trusted_proxies ~= nil and #conf.trusted_proxies > 0 then
        c.proxies = rules(conf.trusted_proxies, false, {})
        c.nproxies = #c.proxies
    end

    return c
end


local function contains(list, n, a, b, c, d)
    for i = 1, n do
        local r = list[i]

        if band(a, r[1]) == r[5] and band(b, r[2]) == r[6]
           and band(c, r[3]) == r[7] and band(d, r[4]) == r[8]
        then
            return r
        end
    end

    return nil
end


local function trim(s)
    return match(s, "^[ \t]*(.-)[ \t]*$")
end


-- The client's address words, or nil when it cannot be known.
local function client(c)
    local a, b, cc, d = parse(gw.req.client_ip())

    if a == nil or c.proxies == nil
       or not contains(c.proxies, c.nproxies, a, b, cc, d)
    then
        return a, b, cc, d
    end

    local xff = gw.req.headers()[c.header]

    if xff == nil then
        return a, b, cc, d
    end

    if type(xff) == "table" then
        xff = concat(xff, ",")
    end

    local pos = #xff

    if pos > XFF_MAX then
        -- only the last XFF_MAX bytes (the trusted hops') are read
        xff = sub(xff, pos - XFF_MAX + 1)
        pos = XFF_MAX
    end

    for _ = 1, HOPS_MAX do
        local i = pos

        while i > 0 and byte(xff, i) ~= 44 do      -- ','
            i = i - 1
        end

        a, b, cc, d = parse(trim(sub(xff, i + 1, pos)))

        if a == nil then
            return nil
        end

        if i == 0 or not contains(c.proxies, c.nproxies, a, b, cc, d) then
            return a, b, cc, d
        end

        pos = i - 1
    end

    return nil                      -- more trusted hops than HOPS_MAX
end


function P.access(c, ctx)
    local a, b, cc, d = client(c)
    local denied

    if a == nil then
        gw.log.info("client address unknown: denied")
        denied = true

    else
        local r = contains(c.rules, c.nrules, a, b, cc, d)

        if r ~= nil then
            denied = r.deny
        else
            denied = c.default_deny
        end
    end

    if denied then
        return gw.problem(403, "Address not allowed",
                          "the client's address is not allowed here")
    end
end


return P
