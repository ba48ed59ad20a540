-- The environment Prosody's config loader (core/configmanager.lua, 0.12 and 13) gives a
-- config file, rebuilt for prosody-admin's sandbox (see prosody_config.rs, which runs
-- this chunk with the functions it may use: nothing here can run a command, write a
-- file or open a socket).
--
--   R: getenv(name), read(path) (a whole file, or an error naming it), list(dir)
--      (entry names in readdir order), nameprep(name), log(...)
--   main: the config file's path
--
-- Returns the sections (`"*"` = global, then one per VirtualHost/Component: their
-- options) and the declarations in order ({ name, kind = "host"|"component" }).
local R, main = ...

local function dirname(p)
	return p:match("^(.*)/[^/]*$") or "."
end

-- The globals a config sees (as `x` and as 13's `Lua.x`): the base functions that
-- compute, string/table/math/utf8, and read-only stand-ins for os, io and prosody.
local G = {}
for _, k in ipairs({ "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget",
	"rawlen", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall", "_VERSION" }) do
	G[k] = _G[k]
end
G.string, G.table, G.math, G.utf8 = string, table, math, utf8
G.unpack = table.unpack
G._G = G
G.print = R.log

local function denied(what)
	return function()
		error("prosody-admin does not let a config " .. what, 2)
	end
end
G.os = {
	getenv = R.getenv, time = os.time, date = os.date, clock = os.clock, difftime = os.difftime,
	execute = denied("run commands (os.execute)"), exit = denied("exit (os.exit)"),
	remove = denied("remove files (os.remove)"), rename = denied("rename files (os.rename)"),
	tmpname = denied("make files (os.tmpname)"), setlocale = denied("change the locale (os.setlocale)"),
}
G.require = function(name)
	error(("prosody-admin does not let a config load modules (require %q)"):format(tostring(name)), 2)
end
G.dofile = denied("run other files (dofile; use Include)")
G.loadfile = denied("load other files (loadfile; use Include)")
G.load = denied("compile code (load)")
G.collectgarbage = function() return 0 end

-- A file read whole: what `io.open(path):read(...)` needs, and nothing that writes.
local function reader(content)
	local pos = 1
	local f = {}
	function f:read(fmt)
		fmt = fmt or "l"
		if type(fmt) == "number" then
			if pos > #content then return nil end
			local s = content:sub(pos, pos + fmt - 1)
			pos = pos + #s
			return s
		end
		fmt = fmt:gsub("^%*", "")
		local c = fmt:sub(1, 1)
		if c == "a" then
			local s = content:sub(pos)
			pos = #content + 1
			return s
		elseif c == "l" or c == "L" then
			if pos > #content then return nil end
			local e = content:find("\n", pos, true)
			local line = content:sub(pos, (e or #content + 1) - 1)
			pos = (e or #content) + 1
			if c == "L" and e then line = line .. "\n" end
			return line
		elseif c == "n" then
			local num, rest = content:match("^%s*([%d%.eE+-]+)()", pos)
			if not num then return nil end
			pos = rest
			return tonumber(num)
		end
		error("bad format to read: " .. tostring(fmt), 2)
	end
	function f:lines(fmt)
		return function() return f:read(fmt) end
	end
	function f:close() return true end
	f.write = denied("write files (file:write)")
	return f
end
G.io = {
	open = function(path, mode)
		mode = mode or "r"
		if mode:find("[wa+]") then
			error(("prosody-admin does not let a config write files (io.open(%q, %q))"):format(path, mode), 2)
		end
		local ok, content = pcall(R.read, path)
		if not ok then return nil, content end
		return reader(content)
	end,
	lines = function(path, fmt)
		return reader(R.read(path)):lines(fmt)
	end,
	popen = denied("run commands (io.popen)"), write = denied("write (io.write)"),
	output = denied("write (io.output)"), tmpfile = denied("make files (io.tmpfile)"),
}
-- Read as prosodyctl reads the config: not the running server (Snikket's config, for
-- one, waits for certificates only when process_type is "prosody").
G.prosody = { process_type = "prosodyctl", config_loaded = false, platform = "posix",
	paths = { config = dirname(main) } }

local sections = { ["*"] = {} }
local order, kinds = {}, {}
local current = "*"
local file_dir
-- The file being read (where a VirtualHost is declared, for errors about it).
local current_file

local function resolve(dir, p)
	if p:sub(1, 1) == "/" then
		return p
	end
	return dir .. "/" .. p
end

local function set(section, k, v)
	local s = sections[section]
	if not s then
		s = {}
		sections[section] = s
	end
	s[k] = v
end

-- 13: a table option read back can be extended, `modules_enabled:append{...}` or
-- `modules_enabled { ... }`.
local function append(t, more)
	for _, v in ipairs(more) do
		t[#t + 1] = v
	end
end
local list_meta = { __index = { append = append }, __call = append }

local F = {}
local env = setmetatable({}, {
	__index = function(_, k)
		local f = F[k]
		if f ~= nil then
			return f
		end
		if type(k) == "string" then
			local name = k:match("^ENV_(.+)$")
			if name then
				return R.getenv(name)
			end
			-- 13 reads an option back from the current section (0.12 gave nil here).
			local v = rawget(sections[current], k)
			if v ~= nil then
				if type(v) == "table" and getmetatable(v) == nil then
					setmetatable(v, list_meta)
				end
				return v
			end
			if k == "Lua" then
				return G
			end
		end
		return G[k]
	end,
	-- `k = v` sets option k in the current section.
	__newindex = function(_, k, v)
		set(current, k, v)
	end,
})

local function declare(name, kind)
	if type(name) ~= "string" then
		error(kind == "host" and "VirtualHost needs a name" or "Component needs a name", 3)
	end
	local host = R.nameprep(name)
	if kinds[host] and kinds[host] ~= kind then
		error(("%q is declared both as a VirtualHost and as a Component"):format(host), 3)
	end
	if not kinds[host] then
		kinds[host] = kind
		order[#order + 1] = { name = host, kind = kind, file = current_file }
	end
	sections[host] = sections[host] or {}
	current = host
	set(host, "defined", true)
	return host
end

-- Applies a block's options and returns to the global section.
local function block(host, opts)
	for k, v in pairs(opts) do
		set(host, k, v)
	end
	current = "*"
end

function F.VirtualHost(name)
	local host = declare(name, "host")
	return function(opts)
		block(host, opts)
	end
end
F.Host, F.host = F.VirtualHost, F.VirtualHost

function F.Component(name)
	local host = declare(name, "component")
	set(host, "component_module", "component")
	return function(module)
		if type(module) == "string" then
			set(host, "component_module", module)
			set(host, "load_global_modules", false)
			return function(opts)
				block(host, opts)
			end
		elseif type(module) == "table" then
			block(host, module)
		end
	end
end

local function load_file(path)
	local chunk, err = load(R.read(path), "@" .. path, "t", env)
	if not chunk then
		error(err, 0)
	end
	-- An included file starts in the global section; the includer's section goes on
	-- after it.
	local saved_section, saved_dir, saved_file = current, file_dir, current_file
	current, file_dir, current_file = "*", dirname(path), path
	chunk()
	current, file_dir, current_file = saved_section, saved_dir, saved_file
end

function F.Include(pattern)
	local path = resolve(file_dir, pattern)
	local dir, last = path:match("^(.*)/([^/]*)$")
	if last and last:find("[*?]") then
		-- A glob in the last component only; dotfiles skipped; readdir order.
		local lp = last:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0")
		lp = "^" .. lp:gsub("%*", ".*"):gsub("%?", ".") .. "$"
		for _, n in ipairs(R.list(dir)) do
			if n:sub(1, 1) ~= "." and n:match(lp) then
				load_file(dir .. "/" .. n)
			end
		end
	else
		load_file(path)
	end
end
F.include = F.Include

function F.RunScript(path)
	error(("RunScript %q: a script with the full Lua API cannot be evaluated by prosody-admin"):format(path), 2)
end

-- 13's file helpers, relative to the directory of the file being read.
function F.FileContents(path)
	return R.read(resolve(file_dir, path))
end

function F.FileLine(path)
	return (R.read(resolve(file_dir, path)):match("^[^\n]*"))
end

function F.FileLines(path)
	local s = R.read(resolve(file_dir, path))
	if s ~= "" and s:sub(-1) ~= "\n" then
		s = s .. "\n"
	end
	local lines = {}
	for l in s:gmatch("(.-)\n") do
		lines[#lines + 1] = l
	end
	return lines
end

function F.Credential(name)
	local dir = R.getenv("CREDENTIALS_DIRECTORY")
	if not dir then
		error(("Credential(%q): $CREDENTIALS_DIRECTORY is not set"):format(name), 2)
	end
	return R.read(dir .. "/" .. name)
end

file_dir = dirname(main)
load_file(main)
return sections, order
