-- mod_sql_busy_timeout: let Prosody's SQLite connection wait for a lock held by another
-- process writing the same database (e.g. prosody-admin) instead of failing at once with
-- "database is locked". Prosody 0.12's SQL layer (LuaDBI) sets no busy timeout.
--
-- Load it next to SQL storage:  modules_enabled = { ...; "sql_busy_timeout" }
-- Option: sql_busy_timeout = 5000 -- milliseconds

local timeout = math.floor(module:get_option_number("sql_busy_timeout", 5000));

module:depends("storage_sql");

local function apply(engine)
	if engine.params.driver ~= "SQLite3" or not engine.conn then return end
	-- PRAGMA takes no bound parameters; `timeout` is an integer from the config.
	local stmt, err = engine.conn:prepare("PRAGMA busy_timeout = " .. tostring(timeout));
	if not stmt then
		module:log("error", "Could not set SQLite busy timeout: %s", err);
		return
	end
	stmt:execute();
	stmt:close();
	module:log("debug", "SQLite busy timeout set to %d ms", timeout);
end

local function hook(engine)
	if engine._busy_timeout_hooked then return end
	engine._busy_timeout_hooked = true;
	-- Reconnects run onconnect again: set the timeout on every new connection.
	local onconnect = engine.onconnect;
	engine.onconnect = function (self, ...)
		local ok, err = onconnect(self, ...);
		apply(self);
		return ok, err;
	end
	if not engine.conn then engine:connect(); end
	apply(engine);
end

function module.load()
	for _, engine in pairs(module:shared("/*/sql/connections")) do
		hook(engine);
	end
end
