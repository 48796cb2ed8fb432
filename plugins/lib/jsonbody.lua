--
-- jsonbody: the members of a JSON object body rewritten by operations,
-- shared by request-transformer and response-transformer
-- (docs/plugins-shipped.md).  A shared module (docs/plugins.md, "Shared
-- modules"): require("jsonbody").
--
-- jsonbody.rewrite(o, body) -> the rewritten JSON object text, or nil
-- and why not: "a number of 16 digits or more" (a Lua number would round
-- it), "not a JSON object", "not encodable".  o holds the operations,
-- applied in this order:
--
--   o.remove   { name, ... }
--   o.rename   { { from, to }, ... }: only a member that is there
--   o.replace  { { name, value }, ... }: only a member that is there
--   o.add      { { name, value }, ... }: only a member that is not there
--
-- jsonbody.long_number(text): whether the JSON text holds a number of 16
-- digits or more outside its strings.
--

local json = require("json")
local find = string.find
local gsub = string.gsub
local getmetatable = getmetatable
local type = type
local pcall = pcall

local M = {}


function M.long_number(s)
    if not find(s, "%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d") then
        return false
    end

    s = gsub(s, "\\.", "")
    s = gsub(s, "\"[^\"]*\"", "\"\"")

    return find(s, "%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d") ~= nil
end


function M.rewrite(o, body)
    if M.long_number(body) then
        return nil, "a number of 16 digits or more"
    end

    local ok, t = pcall(json.decode, body)

    if not ok or type(t) ~= "table" or getmetatable(t) ~= nil then
        return nil, "not a JSON object"
    end

    for i = 1, #o.remove do
        t[o.remove[i]] = nil
    end

    for i = 1, #o.rename do
        local from, to = o.rename[i][1], o.rename[i][2]

        if t[from] ~= nil then
            t[to] = t[from]
            t[from] = nil
        end
    end

    for i = 1, #o.replace do
        local op = o.replace[i]

        if t[op[1]] ~= nil then
            t[op[1]] = op[2]
        end
    end

    for i = 1, #o.add do
        local op = o.add[i]

        if t[op[1]] == nil then
            t[op[1]] = op[2]
        end
    end

    local text
    ok, text = pcall(json.encode, t)

    if not ok or type(text) ~= "string" then
        return nil, "not encodable"
    end

    return text
end


return M
