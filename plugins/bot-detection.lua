--
-- bot-detection: refuses requests by their User-Agent
-- (docs/plugins-shipped.md, "bot-detection"), before authentication.
--
-- The User-Agent is lowercased and cut to max_length bytes once; each
-- entry of allow and deny is a plain substring (lowercased at init) or,
-- with "patterns": true, a Lua pattern (written in lowercase; "^" and
-- "$" anchor it) checked at init; a pattern has at most two unescaped
-- * + - and sees at most 256 bytes, so that backtracking stays cheap.
-- allow first: a match lets the request through whatever else matches.
-- Then deny, then the built-in list of crawlers, scrapers and scanners
-- (builtin: true, the default; HTTP libraries such as curl are not in
-- it: API clients use them).  A request without a User-Agent (or an
-- empty one) passes unless "missing" is "deny".
--

local gw = gw
local find = string.find
local lower = string.lower
local sub = string.sub

local P = {
    priority = 2900,
    early = true,
    body = false,
}

local BUILTIN = {
    "googlebot", "bingbot", "yandexbot", "baiduspider", "duckduckbot",
    "yahoo! slurp", "sogou", "exabot", "applebot", "petalbot",
    "bytespider", "ahrefsbot", "semrushbot", "mj12bot", "dotbot",
    "blexbot", "dataforseobot", "seznambot", "megaindex", "serpstatbot",
    "gptbot", "ccbot", "claudebot", "anthropic-ai", "perplexitybot",
    "amazonbot", "facebookexternalhit", "scrapy", "httrack",
    "python-scrapy", "nikto", "sqlmap", "masscan", "zgrab", "nmap",
    "nuclei", "wpscan", "dirbuster", "gobuster", "acunetix", "netsparker",
}


local function list(entries, patterns)
    local out = {}

    for i, e in ipairs(entries or {}) do
        if patterns then
            local ok, err = pcall(find, "", e)

            if not ok then
                error("bad pattern \"" .. e .. "\": " .. tostring(err), 0)
            end

            out[i] = e
        else
            out[i] = lower(e)
        end
    end

    return out
end


function P.init(conf)
    local patterns = conf.patterns == true

    return {
        allow = list(conf.allow, patterns),
        deny = list(conf.deny, patterns),
        builtin = conf.builtin ~= false and list(BUILTIN, false) or {},
        plain = not patterns,
        max = conf.max_length or (patterns and 256 or 512),
        missing_deny = conf.missing == "deny",
    }
end


local function any(l, ua, plain)
    for i = 1, #l do
        if find(ua, l[i], 1, plain) then
            return true
        end
    end

    return false
end


local function deny()
    return gw.problem(403, "Client not allowed",
                      "the client's User-Agent is not allowed here")
end


function P.access(c, ctx)
    local ua = gw.req.header("user-agent")

    if ua == nil or ua == "" then
        if c.missing_deny then
            gw.log.info("no User-Agent: denied")
            return deny()
        end

        return
    end

    if #ua > c.max then
        ua = sub(ua, 1, c.max)
    end

    ua = lower(ua)

    if any(c.allow, ua, c.plain) then
        return
    end

    if any(c.deny, ua, c.plain) or any(c.builtin, ua, true) then
        gw.log.info("User-Agent denied")
        return deny()
    end
end


return P
