--
-- acl: allows or denies a request by its consumer's groups
-- (docs/plugins-shipped.md, "acl"), after authentication.
--
-- The groups: the consumer's tags (gw.consumer().tags, set with
-- `gwctl consumer add --tags`), and, when "claim" names one, the values
-- of a claim of the verified JWT (gw.claims()): an array of strings, or
-- a string of groups separated by spaces (as "scope" is).  "claim" is a
-- top-level claim name ("https://example.com/roles" included), or an
-- array of names for a nested claim (["realm_access", "roles"]).
--
-- deny first: a request with any group in deny is refused.  Then, when
-- allow is not empty, a request with no group in allow is refused.  A
-- request with neither a consumer nor claims is refused either way: the
-- plugin needs an authenticated identity (gw_key_auth or gw_jwt before
-- it).  Group names compare exactly (case matters).
--

local gw = gw
local gmatch = string.gmatch
local type = type

local P = {
    priority = 950,
    early = false,
    body = false,
}

-- groups looked at per request, and the longest group name
local GROUPS_MAX = 256
local GROUP_LEN_MAX = 256


local function set_of(list)
    local s, n = {}, 0

    for _, v in ipairs(list or {}) do
        s[v] = true
        n = n + 1
    end

    return s, n
end


function P.init(conf)
    local c = {}

    c.allow, c.nallow = set_of(conf.allow)
    c.deny, c.ndeny = set_of(conf.deny)

    if type(conf.claim) == "string" then
        c.claim = { conf.claim }
    elseif type(conf.claim) == "table" then
        c.claim = conf.claim
    end

    return c
end


-- the verdict of one group: "deny", "allow" or nil
local function verdict(c, group)
    if type(group) ~= "string" or #group > GROUP_LEN_MAX then
        return nil
    end

    if c.deny[group] then
        return "deny"
    end

    if c.allow[group] then
        return "allow"
    end

    return nil
end


local function claim_of(c)
    local v = gw.claims()

    if v == nil then
        return nil, false
    end

    for i = 1, #c.claim do
        if type(v) ~= "table" then
            return nil, true
        end

        v = v[c.claim[i]]
    end

    return v, true
end


-- Looks at every group: "deny" when one is denied, else "allow" when one
-- is allowed, else nil; and whether there was an identity at all.
local function decide(c)
    local consumer = gw.consumer()
    local seen, found = 0, nil

    if consumer ~= nil and type(consumer.tags) == "table" then
        local tags = consumer.tags

        for i = 1, #tags do
            seen = seen + 1

            if seen > GROUPS_MAX then
                break
            end

            local v = verdict(c, tags[i])

            if v == "deny" then
                return "deny", true
            end

            found = found or v
        end
    end

    local identity = consumer ~= nil

    if c.claim ~= nil then
        local v, has = claim_of(c)

        identity = identity or has

        if type(v) == "string" then
            for group in gmatch(v, "[^ ]+") do
                seen = seen + 1

                if seen > GROUPS_MAX then
                    break
                end

                local r = verdict(c, group)

                if r == "deny" then
                    return "deny", true
                end

                found = found or r
            end

        elseif type(v) == "table" then
            for i = 1, #v do
                seen = seen + 1

                if seen > GROUPS_MAX then
                    break
                end

                local r = verdict(c, v[i])

                if r == "deny" then
                    return "deny", true
                end

                found = found or r
            end
        end

    elseif not identity then
        identity = gw.claims() ~= nil
    end

    return found, identity
end


function P.access(c, ctx)
    local v, identity = decide(c)

    if not identity then
        gw.log.info("no consumer or claims: denied")
        return gw.problem(403, "Access denied",
                          "the request has no authenticated identity")
    end

    if v == "deny" or (v == nil and c.nallow > 0) then
        gw.log.info("groups not allowed: denied")
        return gw.problem(403, "Access denied",
                          "the consumer's groups are not allowed here")
    end
end


return P
