--
-- headerops: header operations on the request (gw.req) or the response
-- (gw.resp), shared by request-transformer and response-transformer
-- (docs/plugins-shipped.md).  A shared module (docs/plugins.md, "Shared
-- modules"): require("headerops").
--
-- headerops.apply(t, o): t is gw.req or gw.resp; o holds the operations,
-- applied in this order:
--
--   o.remove   { name, ... }
--   o.rename   { { from, to }, ... }: every value of a header that is there
--   o.replace  { { name, value }, ... }: only a header that is there
--   o.add      { { name, value }, ... }: only a header that is not there
--   o.append   { { name, value }, ... }: always, beside any of that name
--

local lower = string.lower
local type = type

local M = {}


function M.apply(t, o)
    for i = 1, #o.remove do
        t.remove_header(o.remove[i])
    end

    if #o.rename > 0 then
        local all = t.headers()

        for i = 1, #o.rename do
            local from, to = o.rename[i][1], o.rename[i][2]
            local v = all[lower(from)]

            if v ~= nil then
                t.remove_header(from)

                if type(v) == "table" then
                    t.set_header(to, v[1])

                    for j = 2, #v do
                        t.add_header(to, v[j])
                    end

                else
                    t.set_header(to, v)
                end
            end
        end
    end

    for i = 1, #o.replace do
        local op = o.replace[i]

        if t.header(op[1]) ~= nil then
            t.set_header(op[1], op[2])
        end
    end

    for i = 1, #o.add do
        local op = o.add[i]

        if t.header(op[1]) == nil then
            t.set_header(op[1], op[2])
        end
    end

    for i = 1, #o.append do
        t.add_header(o.append[i][1], o.append[i][2])
    end
end


return M
