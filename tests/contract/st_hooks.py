"""Schemathesis hooks (SCHEMATHESIS_HOOKS=st_hooks): what the spec cannot enumerate.

`format: prosody-role` marks a role name the server must know: Prosody's built-in roles,
or the custom roles of its config. The static spec cannot list a server's custom roles,
so it says "a string in this format"; the fuzzer is taught the names this test server
knows (the built-in ones and the custom role the fixture configures). Any other name is
a 400 by contract, which the negative phases check."""

from hypothesis import strategies as st

import schemathesis

KNOWN_ROLES = ["prosody:guest", "prosody:registered", "prosody:member", "prosody:admin", "prosody:operator",
               "example:support"]

schemathesis.openapi.format("prosody-role", st.sampled_from(KNOWN_ROLES))
