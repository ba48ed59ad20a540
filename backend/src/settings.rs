//! What the backend needs to know about the server it administers.

/// Valid until revoked: Prosody 0.12's mod_invites rejects an invite without a numeric
/// `expires`, so "no expiry" is stored as 3000-01-01T00:00:00Z.
pub const NEVER_EXPIRES: i64 = 32_503_680_000;

/// mod_invites' default `invites_page_supports`.
pub const DEFAULT_INVITES_PAGE_SUPPORTS: &[&str] = &["account", "account-and-contact", "contact"];

#[derive(Debug, Clone)]
pub struct Settings {
    /// The VirtualHost administered (`host` column), e.g. `localhost`.
    pub host: String,
    /// Bare JIDs that are admins by configuration (Prosody's `admins` option).
    pub admins: Vec<String>,
    /// `site_name` of GET /server/info.
    pub site_name: String,
    /// `version` of GET /server/info.
    pub version: String,
    /// Default lifetime of account invites, in seconds.
    pub account_invite_ttl: i64,
    /// Default lifetime of reset invites, in seconds.
    pub reset_invite_ttl: i64,
    /// Landing page template; `{token}`, `{host}` and `{uri}` are replaced. Takes
    /// precedence over Prosody's `invites_page`.
    pub landing_page: Option<String>,
    /// Prosody's `invites_page` (mod_invites): a template such as
    /// `https://example.org/invite/{invite.token}/`, rendered for every invite.
    pub invites_page: Option<String>,
    /// Prosody's `invites_page_supports`: the invite types the page handles.
    pub invites_page_supports: Vec<String>,
    /// Roles beyond Prosody's built-in ones that the server knows (13's
    /// `custom_roles`): accepted wherever a role is.
    pub custom_roles: Vec<String>,
    /// Prosody's admin socket (mod_admin_socket), when known.
    pub admin_socket: Option<std::path::PathBuf>,
    /// Audit retention: entries older than this many seconds go.
    pub audit_max_age: Option<i64>,
    /// Audit retention: only this many newest entries stay.
    pub audit_max_entries: Option<u64>,
    /// The MUC component that hosts group chats (Prosody's `groups_muc_host`).
    pub groups_muc_host: String,
    /// Prosody's OpenMetrics endpoint (mod_http_openmetrics), e.g.
    /// `http://127.0.0.1:5280/metrics`: the source of GET /server/metrics' process figures.
    pub metrics_url: Option<String>,
    /// The live path to Prosody: an XEP-0114 external component connection.
    pub component: Option<Component>,
    /// Every VirtualHost its server serves (the docs page names them when several).
    pub served_hosts: Vec<String>,
    /// Whether the web console (and its password sign-in) is served.
    pub console: bool,
    /// Lifetime of a token the console's password sign-in mints, in seconds.
    pub console_session_ttl: i64,
}

/// An external component (XEP-0114) that Prosody accepts: `Component "<jid>"` with a
/// `component_secret`, on Prosody's component port.
#[derive(Clone)]
pub struct Component {
    pub jid: String,
    pub secret: String,
    /// Prosody's component listener, e.g. `127.0.0.1:5347`.
    pub address: String,
}

/// The secret stays out of logs and debug output.
impl std::fmt::Debug for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Component({} at {}, secret=…)", self.jid, self.address)
    }
}

impl Settings {
    /// Defaults for `host`, as documented in the README.
    pub fn for_host(host: &str) -> Settings {
        Settings {
            host: host.to_string(),
            admins: Vec::new(),
            site_name: host.to_string(),
            version: concat!("prosody-admin ", env!("CARGO_PKG_VERSION")).to_string(),
            account_invite_ttl: 7 * 24 * 3600,
            reset_invite_ttl: 24 * 3600,
            landing_page: None,
            invites_page: None,
            invites_page_supports: DEFAULT_INVITES_PAGE_SUPPORTS.iter().map(|s| s.to_string()).collect(),
            custom_roles: Vec::new(),
            admin_socket: None,
            audit_max_age: None,
            audit_max_entries: None,
            groups_muc_host: format!("groups.{host}"),
            metrics_url: None,
            component: None,
            served_hosts: vec![host.to_string()],
            console: true,
            console_session_ttl: 3600,
        }
    }

    /// Whether the server knows `role`: one of Prosody's built-in roles or a custom one.
    pub fn knows_role(&self, role: &str) -> bool {
        crate::storage::stores::roles::BUILTIN_13.contains(&role) || self.custom_roles.iter().any(|r| r == role)
    }

    /// The roles the server knows, for messages.
    pub fn known_roles(&self) -> String {
        let mut all: Vec<&str> = crate::storage::stores::roles::BUILTIN_13.to_vec();
        all.extend(self.custom_roles.iter().map(String::as_str));
        all.join(", ")
    }

    /// Whether `username` is an admin by configuration.
    pub fn is_config_admin(&self, username: &str) -> bool {
        self.admins
            .iter()
            .any(|jid| jid.split_once('@').is_some_and(|(node, host)| host == self.host && node == username))
    }

    pub fn landing_page_for(&self, token: &str, uri: &str) -> Option<String> {
        self.landing_page
            .as_ref()
            .map(|t| t.replace("{token}", token).replace("{host}", &self.host).replace("{uri}", uri))
    }
}
