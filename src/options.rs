//! Every setting, declared once.
//!
//! One line of [`options!`] per setting names it, its type, its default, its doc, whether
//! Prosody can set it per VirtualHost (`host`) or only for the whole server (`server`),
//! which subcommands take it, and where Prosody's own config says it. From that one
//! declaration come the flag (`--name-with-dashes`), the `PROSODY_ADMIN_NAME` variable,
//! the TOML key (`name`), the Prosody-config layer, the default, the provenance printed
//! by `prosody-admin config`, and the README's options table (checked by a test).
//!
//! The layers, highest first: flag, variable, our TOML file, Prosody's config, default.
//! A macro of our own rather than figment + clap-derive: the precedence chain needs the
//! Prosody config as a layer whose values are computed per host (storage → database,
//! global + host `admins`), the provenance must tell a flag from a variable (clap's
//! `value_source` does), and a secret must be masked by type; each would be a second
//! statement of the setting beside a derive struct.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use backend::storage::Location;
use backend::ProsodyVersion;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches};
use serde_json::Value as Json;

use crate::client_addr::TrustedProxies;
use crate::prosody_config::{ProsodyConfig, Storage};

/// Whether Prosody lets a VirtualHost set it (its section overrides the global one), or
/// it is the service's own, for the whole process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Server,
    Host,
}

/// Which subcommands take the flag: every one, or `serve` (and `config`, which shows
/// what `serve` would run with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    All,
    Serve,
}

/// One setting's declaration (what the macro records of it).
#[derive(Debug)]
pub struct Decl {
    /// The TOML key; the flag is it with `-` (unless `flag` says otherwise); the variable
    /// is `PROSODY_ADMIN_` and it upper-cased.
    pub name: &'static str,
    pub flag: &'static str,
    pub doc: &'static str,
    /// The default as text (parsed by the setting's type), or none.
    pub default: Option<&'static str>,
    /// How the README and `--help` show the default.
    pub shown_default: &'static str,
    pub scope: Scope,
    pub on: On,
    pub secret: bool,
    pub list: bool,
    /// Prosody's config can set it.
    pub from_prosody: bool,
}

impl Decl {
    /// The doc as one line.
    pub fn text(&self) -> String {
        self.doc.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
    }

    pub fn env(&self) -> String {
        format!("PROSODY_ADMIN_{}", self.name.to_ascii_uppercase())
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Variable(String),
    Toml(PathBuf),
    Prosody(PathBuf),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("a flag"),
            Source::Variable(v) => write!(f, "the variable {v}"),
            Source::Toml(p) => write!(f, "the TOML config {}", p.display()),
            Source::Prosody(p) => write!(f, "the Prosody config {}", p.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

impl Source {
    /// The short name `config --json` gives.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Variable(_) => "variable",
            Source::Toml(_) => "toml",
            Source::Prosody(_) => "prosody",
            Source::Default => "default",
        }
    }
}

/// A setting's type: how it reads from each layer and how it shows.
pub trait Setting: Sized {
    /// Flags and variables: the text given (a list's items, split at commas).
    fn from_text(s: &str) -> Result<Self>;
    /// Our TOML file and Prosody's config (converted to TOML values).
    fn from_toml(v: &toml::Value) -> Result<Self> {
        match v {
            toml::Value::String(s) => Self::from_text(s),
            toml::Value::Integer(i) => Self::from_text(&i.to_string()),
            toml::Value::Float(x) => Self::from_text(&x.to_string()),
            toml::Value::Boolean(b) => Self::from_text(&b.to_string()),
            other => bail!("expected a single value, not {other}"),
        }
    }
    /// No layer set it and it has no default: only optional types have a value then.
    fn absent() -> Option<Self> {
        None
    }
    fn show(&self) -> String;
    fn json(&self) -> Json {
        Json::String(self.show())
    }
    const LIST: bool = false;
    const SECRET: bool = false;
}

macro_rules! text_setting {
    ($($t:ty),*) => {$(
        impl Setting for $t {
            fn from_text(s: &str) -> Result<Self> {
                s.trim().parse::<$t>().map_err(|e| anyhow!("{s:?}: {e}"))
            }
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
text_setting!(SocketAddr, ProsodyVersion);

impl Setting for String {
    fn from_text(s: &str) -> Result<Self> {
        Ok(s.to_string())
    }
    fn show(&self) -> String {
        self.clone()
    }
}

impl Setting for PathBuf {
    fn from_text(s: &str) -> Result<Self> {
        if s.is_empty() {
            bail!("an empty path");
        }
        Ok(PathBuf::from(s))
    }
    fn show(&self) -> String {
        self.display().to_string()
    }
}

/// On or off: `true`/`false` (TOML's booleans, or `on`/`off`, `yes`/`no`, `1`/`0`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Switch(pub bool);

impl Setting for Switch {
    fn from_text(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => Ok(Switch(true)),
            "false" | "off" | "no" | "0" => Ok(Switch(false)),
            _ => bail!("{s:?}: true or false"),
        }
    }
    fn show(&self) -> String {
        self.0.to_string()
    }
    fn json(&self) -> Json {
        Json::Bool(self.0)
    }
}

/// A share of a whole: a number above 0 and at most 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share(pub f64);

impl Setting for Share {
    fn from_text(s: &str) -> Result<Self> {
        let v: f64 = s.trim().parse().map_err(|_| anyhow!("{s:?} is not a number"))?;
        if !(v > 0.0 && v <= 1.0) {
            bail!("{s:?}: above 0 and at most 1");
        }
        Ok(Share(v))
    }
    fn from_toml(v: &toml::Value) -> Result<Self> {
        match v {
            toml::Value::Float(f) => Self::from_text(&f.to_string()),
            toml::Value::Integer(i) => Self::from_text(&i.to_string()),
            toml::Value::String(s) => Self::from_text(s),
            other => bail!("{other} is not a number"),
        }
    }
    fn show(&self) -> String {
        self.0.to_string()
    }
    fn json(&self) -> Json {
        Json::from(self.0)
    }
}

impl<T: Setting> Setting for Option<T> {
    fn from_text(s: &str) -> Result<Self> {
        T::from_text(s).map(Some)
    }
    fn from_toml(v: &toml::Value) -> Result<Self> {
        T::from_toml(v).map(Some)
    }
    fn absent() -> Option<Self> {
        Some(None)
    }
    fn show(&self) -> String {
        self.as_ref().map(T::show).unwrap_or_else(|| "none".into())
    }
    fn json(&self) -> Json {
        self.as_ref().map(T::json).unwrap_or(Json::Null)
    }
    const LIST: bool = T::LIST;
    const SECRET: bool = T::SECRET;
}

/// A list: comma-separated in a flag or variable, an array in TOML or Prosody's config
/// (a single string is a list of one, as Prosody reads it). Blank items are dropped.
impl Setting for Vec<String> {
    fn from_text(s: &str) -> Result<Self> {
        Ok(s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
    }
    fn from_toml(v: &toml::Value) -> Result<Self> {
        match v {
            toml::Value::String(s) => Ok(vec![s.trim().to_string()]),
            toml::Value::Array(a) => a
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s.trim().to_string()),
                    other => bail!("expected a list of strings, holding {other}"),
                })
                .filter(|s| !matches!(s, Ok(s) if s.is_empty()))
                .collect(),
            other => bail!("expected a list of strings, not {other}"),
        }
    }
    fn absent() -> Option<Self> {
        Some(Vec::new())
    }
    fn show(&self) -> String {
        if self.is_empty() {
            "none".into()
        } else {
            self.join(", ")
        }
    }
    fn json(&self) -> Json {
        Json::from(self.clone())
    }
    const LIST: bool = true;
}

/// A positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Positive<T>(pub T);

impl<T: std::str::FromStr + PartialOrd + Default + fmt::Display + Into<Json> + Copy> Setting for Positive<T>
where
    T::Err: fmt::Display,
{
    fn from_text(s: &str) -> Result<Self> {
        let v: T = s.trim().parse().map_err(|e| anyhow!("{s:?}: {e}"))?;
        if v <= T::default() {
            bail!("must be positive, not {v}");
        }
        Ok(Positive(v))
    }
    fn show(&self) -> String {
        self.0.to_string()
    }
    fn json(&self) -> Json {
        self.0.into()
    }
}

/// A positive number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl Setting for Seconds {
    fn from_text(s: &str) -> Result<Self> {
        Positive::<u64>::from_text(s).map(|p| Seconds(Duration::from_secs(p.0)))
    }
    fn show(&self) -> String {
        self.0.as_secs().to_string()
    }
    fn json(&self) -> Json {
        self.0.as_secs().into()
    }
}

/// A positive age: `90d`, `12h`, `30m`, `3600s`, `2w` or plain seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age(pub i64);

impl Setting for Age {
    fn from_text(s: &str) -> Result<Self> {
        let s = s.trim();
        let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((i, _)) => (&s[..i], &s[i..]),
            None => (s, "s"),
        };
        let bad = || anyhow!("{s:?} is not a duration (e.g. 90d, 12h, 3600)");
        let n: i64 = digits.parse().map_err(|_| bad())?;
        let unit = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => return Err(bad()),
        };
        n.checked_mul(unit).filter(|v| *v > 0).map(Age).ok_or_else(|| anyhow!("must be positive"))
    }
    fn show(&self) -> String {
        format!("{}s", self.0)
    }
    fn json(&self) -> Json {
        self.0.into()
    }
}

/// A value never shown (passwords, secrets).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Setting for Secret {
    fn from_text(s: &str) -> Result<Self> {
        Ok(Secret(s.to_string()))
    }
    fn show(&self) -> String {
        "(set, hidden)".into()
    }
    const SECRET: bool = true;
}

/// Browser origins allowed to call the API (`scheme://host[:port]`, or `*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins(pub Vec<String>);

impl Origins {
    fn checked(list: Vec<String>) -> Result<Self> {
        let list: Vec<String> =
            list.into_iter().map(|o| o.trim_end_matches('/').to_string()).filter(|o| !o.is_empty()).collect();
        for o in &list {
            if o != "*" && !(o.starts_with("https://") || o.starts_with("http://")) {
                bail!("{o:?} is not an origin (scheme://host[:port]) or *");
            }
        }
        Ok(Origins(list))
    }
}

impl Setting for Origins {
    fn from_text(s: &str) -> Result<Self> {
        Origins::checked(Vec::from_text(s)?)
    }
    fn from_toml(v: &toml::Value) -> Result<Self> {
        Origins::checked(Vec::from_toml(v)?)
    }
    fn absent() -> Option<Self> {
        Some(Origins::default())
    }
    fn show(&self) -> String {
        self.0.show()
    }
    fn json(&self) -> Json {
        Json::from(self.0.clone())
    }
    const LIST: bool = true;
}

impl Setting for TrustedProxies {
    fn from_text(s: &str) -> Result<Self> {
        TrustedProxies::parse(&Vec::from_text(s)?)
    }
    fn from_toml(v: &toml::Value) -> Result<Self> {
        TrustedProxies::parse(&Vec::from_toml(v)?)
    }
    fn absent() -> Option<Self> {
        Some(TrustedProxies::default())
    }
    fn show(&self) -> String {
        if self.is_empty() {
            "none".into()
        } else {
            self.to_string()
        }
    }
    const LIST: bool = true;
}

/// A host name as Prosody holds it: nameprepped (case-folded), as Prosody's config loader
/// folds its `VirtualHost` names; dot-separated labels, none empty; no `@`, `/`, space or
/// brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostName(pub String);

impl Setting for HostName {
    fn from_text(s: &str) -> Result<Self> {
        let folded = stringprep::nameprep(s.trim()).map_err(|_| anyhow!("{s:?} is not a valid host name"))?;
        let ok = !folded.is_empty()
            && folded.len() <= 1023
            && folded.split('.').all(|label| !label.is_empty())
            && !folded.chars().any(|c| c.is_whitespace() || c.is_control() || "@/[]:\\".contains(c));
        if !ok {
            bail!("{s:?} is not a host name (dot-separated labels, no @ / [ ] : or spaces)");
        }
        Ok(HostName(folded.into_owned()))
    }
    fn show(&self) -> String {
        self.0.clone()
    }
}

/// An `http://` URL (Prosody's OpenMetrics endpoint is plain HTTP on loopback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(pub String);

impl Setting for HttpUrl {
    fn from_text(s: &str) -> Result<Self> {
        if !s.starts_with("http://") {
            bail!("must be an http:// URL, not {s:?}");
        }
        Ok(HttpUrl(s.to_string()))
    }
    fn show(&self) -> String {
        self.0.clone()
    }
}

impl Setting for Location {
    fn from_text(s: &str) -> Result<Self> {
        Location::parse(s).map_err(|e| anyhow!("{e}"))
    }
    /// Shown without its password.
    fn show(&self) -> String {
        self.to_string()
    }
}

/// How log lines are written (stderr).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Line,
    Json,
}

impl Setting for LogFormat {
    fn from_text(s: &str) -> Result<Self> {
        match s.trim() {
            "line" => Ok(LogFormat::Line),
            "json" => Ok(LogFormat::Json),
            other => bail!("{other:?}: `line` or `json`"),
        }
    }
    fn show(&self) -> String {
        match self {
            LogFormat::Line => "line".into(),
            LogFormat::Json => "json".into(),
        }
    }
}

/// How Prosody's config gives a setting of host `host` (None: it does not set it).
pub type FromProsody<T> = fn(&ProsodyConfig, &str) -> Result<Option<T>>;

/// Prosody's value of `key` as `host` sees it (the host's own, else the global one).
fn key<T: Setting>(pc: &ProsodyConfig, host: &str, key: &str) -> Result<Option<T>> {
    pc.get(host, key)
        .map(|v| T::from_toml(&json_to_toml(v)?))
        .transpose()
        .with_context(|| format!("{}: {key}", pc.path.display()))
}

fn json_to_toml(v: &Json) -> Result<toml::Value> {
    Ok(match v {
        Json::Bool(b) => toml::Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => toml::Value::String(s.clone()),
        Json::Array(a) => toml::Value::Array(a.iter().map(json_to_toml).collect::<Result<_>>()?),
        Json::Object(m) => {
            toml::Value::Table(m.iter().map(|(k, v)| Ok((k.clone(), json_to_toml(v)?))).collect::<Result<_>>()?)
        }
        Json::Null => bail!("no value"),
    })
}

/// The database a VirtualHost's storage names. Prosody creates its database when it
/// first starts: a file (or data directory) that is not there is a wrong path, not a
/// database to create.
fn prosody_database(pc: &ProsodyConfig, host: &str) -> Result<Option<Location>> {
    let file = pc.path.display();
    Ok(Some(match pc.storage(host)? {
        Storage::Sqlite(p) if !p.is_file() => bail!(
            "{file}: {host}'s SQLite database {} does not exist (has Prosody started with this config?)",
            p.display()
        ),
        Storage::Sqlite(p) => Location::Sqlite(p),
        Storage::Postgres { host: h, port, database, username, password } => {
            Location::postgres(h.as_deref(), port, &database, username.as_deref(), password.as_deref())
                .map_err(|e| anyhow!("database: {e}"))?
        }
        Storage::Internal(data) if !data.is_dir() => bail!(
            "{file}: {host}'s data is in Prosody's flat files (storage = \"internal\"), but {} is not a directory \
             (has Prosody started with this config?)",
            data.display()
        ),
        Storage::Internal(data) => Location::Internal(data),
    }))
}

macro_rules! default_of {
    ($lit:literal) => {
        Some($lit)
    };
    ((none $shown:literal)) => {
        None
    };
}

macro_rules! shown_default {
    ($lit:literal) => {
        concat!("`", $lit, "`")
    };
    ((none $shown:literal)) => {
        $shown
    };
}

macro_rules! options {
    ($(
        $(#[doc = $doc:literal])+
        $scope:ident $on:ident $name:ident : $ty:ty = $default:tt
        $(, flag $flag:literal)? $(, prosody $prosody:expr)? ;
    )*) => {
        /// Every setting, resolved: each field is the setting of the same name.
        #[derive(Debug, Clone)]
        pub struct Options {
            $(pub $name: $ty,)*
            /// Where each came from, by name.
            pub sources: BTreeMap<&'static str, Source>,
            /// The value of each for `config`: (shown, JSON).
            pub shown: BTreeMap<&'static str, (String, Json)>,
        }

        /// The declarations, in the README's order.
        pub const DECLS: &[Decl] = &[$(Decl {
            name: stringify!($name),
            flag: first_of!($($flag,)? stringify!($name)),
            doc: concat!($($doc, "\n"),+),
            default: default_of!($default),
            shown_default: shown_default!($default),
            scope: Scope::$scope,
            on: On::$on,
            secret: <$ty as Setting>::SECRET,
            list: <$ty as Setting>::LIST,
            from_prosody: has!($($prosody)?),
        },)*];

        impl Options {
            fn from_layers(layers: &Layers) -> Result<Options> {
                let mut sources = BTreeMap::new();
                let mut shown = BTreeMap::new();
                let mut decls = DECLS.iter();
                $(
                    let decl = decls.next().ok_or_else(|| anyhow!("declarations out of step"))?;
                    let prosody: Option<FromProsody<$ty>> = None $(.or(Some($prosody)))?;
                    let ($name, source) = layers.resolve::<$ty>(decl, prosody)?;
                    sources.insert(decl.name, source);
                    shown.insert(decl.name, (Setting::show(&$name), Setting::json(&$name)));
                )*
                Ok(Options { $($name,)* sources, shown })
            }
        }
    };
}

macro_rules! has {
    ($e:expr) => {
        true
    };
    () => {
        false
    };
}

macro_rules! first_of {
    ($first:expr, $($rest:expr),*) => {
        $first
    };
    ($first:expr) => {
        $first
    };
}

options! {
    /// Address of the HTTP listener
    Server Serve listen: SocketAddr = "127.0.0.1:5380";
    /// A second, plain-HTTP listener for monitoring only: `/metrics` (the service's
    /// OpenMetrics), `/healthz`, `/readyz` (the API serves them too)
    Server Serve metrics_listen: Option<SocketAddr> = (none "none");
    /// Prosody's `prosody.cfg.lua`: the source of every setting it has (storage, host,
    /// admins, custom roles, invite page, groups MUC host, admin socket); flags, variables
    /// and our TOML file still override it, one setting at a time
    Server All prosody_config: Option<PathBuf> = (none "none");
    /// The database in Prosody's layout: a SQLite file, a PostgreSQL URL
    /// `postgresql://user@host:port/db` (unix socket: `postgresql://user@/db?host=/run/postgresql`),
    /// or Prosody's flat files `internal:/var/lib/prosody`
    Host All database: Location = "data/prosody-admin.sqlite", prosody prosody_database;
    /// PostgreSQL password when the URL has none (better from the variable or the file
    /// than in the URL: never logged)
    Host All database_password: Option<Secret> = (none "none");
    /// `13` or `0.12`: the layout of the database. Detected from an existing one (13 for a
    /// new one); set, it must match the database, or the start fails with nothing written
    Server All prosody_version: Option<ProsodyVersion> = (none "detected");
    /// The VirtualHost administered (with a Prosody config: one of its enabled
    /// VirtualHosts; `serve` serves them all unless this chooses one, the other commands
    /// need it when there are several)
    Host All host: HostName = "localhost", prosody |_, host| Ok(Some(HostName(host.to_string())));
    /// Admin JIDs, as Prosody's `admins` (besides accounts with role `prosody:admin`);
    /// comma-separated
    Host All admins: Vec<String> = (none "none"), prosody |pc, host| Ok(Some(pc.admins(host)?));
    /// Roles beyond Prosody's built-in ones, as Prosody 13's `custom_roles` (e.g. Snikket's
    /// `prosody:restricted`): accepted in `role` and invite `roles`; comma-separated
    Host All custom_roles: Vec<String> = (none "none"), flag "custom-role",
        prosody |pc, host| Ok(Some(pc.custom_roles(host)?));
    /// `site_name` of `GET /server/info`
    Host Serve site_name: Option<String> = (none "the host");
    /// Default lifetime of account invites, seconds
    Host Serve account_invite_ttl: Positive<i64> = "604800";
    /// Default lifetime of reset invites, seconds
    Host Serve reset_invite_ttl: Positive<i64> = "86400";
    /// Invite page template: `{token}`, `{host}`, `{uri}` are replaced; wins over
    /// `invites_page`
    Host Serve landing_page: Option<String> = (none "none");
    /// Prosody's `invites_page` (mod_invites): a template such as
    /// `https://example.org/invite/{invite.token}/`, rendered for every invite as
    /// mod_invites renders it
    Host Serve invites_page: Option<String> = (none "none"), prosody |pc, host| key(pc, host, "invites_page");
    /// Prosody's `invites_page_supports`: the invite types the page handles
    Host Serve invites_page_supports: Vec<String> = "account,account-and-contact,contact",
        prosody |pc, host| key(pc, host, "invites_page_supports");
    /// MUC component of group chats (Prosody's `groups_muc_host`)
    Host All groups_muc_host: Option<String> = (none "`groups.<host>`"),
        prosody |pc, host| key(pc, host, "groups_muc_host");
    /// The name HTTP requests reach this host under (Prosody's `http_host`): a request
    /// whose `Host` is this name is served for the host
    Host Serve http_host: Option<HostName> = (none "the host"), prosody |pc, host| key(pc, host, "http_host");
    /// The host a request goes to when its `Host` names no served host (Prosody's
    /// `http_default_host`); without one such a request gets 404, as from Prosody
    /// (a server of one host serves it whatever the `Host`)
    Server Serve http_default_host: Option<HostName> = (none "none"),
        prosody |pc, _| key(pc, "*", "http_default_host");
    /// Prosody's admin socket (mod_admin_socket), the live path (with a Prosody config:
    /// its `admin_socket`, else `<data_path>/prosody.sock`)
    Server All prosody_socket: Option<PathBuf> = (none "none"), prosody |pc, _| Ok(Some(Some(pc.admin_socket()?)));
    /// Prosody 13's OpenMetrics endpoint (`mod_http_openmetrics`, e.g.
    /// `http://127.0.0.1:5280/metrics`): the process figures of `GET /server/metrics`
    Server Serve prosody_metrics_url: Option<HttpUrl> = (none "none");
    /// Prosody's own HTTP server (e.g. `http://127.0.0.1:5280`): every request outside
    /// `/admin_api` is forwarded there, so that clients given one Prosody URL (the Snikket
    /// portal, Prose) reach `/oauth2`, `/rest`, `/register_api` through us
    Server Serve prosody_http: Option<HttpUrl> = (none "none: other paths are 404");
    /// JID of an external component (XEP-0114) Prosody accepts: the live path for
    /// announcements (with `component_secret`)
    Host Serve component_jid: Option<String> = (none "none");
    /// The component's secret (from the variable or the file: flags show in `ps`)
    Host Serve component_secret: Option<Secret> = (none "none");
    /// Prosody's component port
    Server Serve component_address: String = "127.0.0.1:5347";
    /// Largest request body accepted, bytes (larger ones get 413)
    Server Serve max_body_bytes: Positive<usize> = "1048576";
    /// PEM certificate chain: the listener speaks HTTPS (reloaded with the key on SIGHUP)
    Server Serve tls_cert: Option<PathBuf> = (none "none");
    /// PEM private key of the certificate
    Server Serve tls_key: Option<PathBuf> = (none "none");
    /// Origins whose browser pages may call the API (CORS), e.g.
    /// `https://admin.example.org`; `*` for any; comma-separated
    Server Serve cors_origins: Origins = (none "none");
    /// Seconds a client has to send a request's head (and the TLS handshake) once it starts
    Server Serve header_timeout: Seconds = "10";
    /// Seconds a client has to send a request's whole body (then 408, connection closed)
    Server Serve body_timeout: Seconds = "30";
    /// Seconds an idle keep-alive connection stays open
    Server Serve idle_timeout: Seconds = "60";
    /// Connections served at once; more are answered 503 and closed at once
    Server Serve max_connections: Positive<usize> = "512";
    /// Largest request head (request line and headers), bytes; 431 beyond it; at least 8192
    Server Serve max_header_bytes: Positive<usize> = "65536";
    /// The web console at `/admin_api/console/` and its password sign-in (`false`: both
    /// answer 404)
    Host Serve console: Switch = "true";
    /// Lifetime of the token a console sign-in mints, seconds (sign-out revokes it sooner)
    Host Serve console_session_ttl: Positive<i64> = "3600";
    /// Failed authentications from one client address within the window before it gets 429
    Server Serve auth_failure_limit: Positive<u32> = "10";
    /// Seconds over which failed authentications are counted (and the longest wait)
    Server Serve auth_failure_window: Seconds = "60";
    /// The most of the time the writer holds a SQLite database, or writes Prosody's flat
    /// files, while Prosody writes to them too (0 to 1; 1: never rest): after each batch
    /// it rests in proportion, so that Prosody's own writes keep their turns under a
    /// flood of ours; alone it runs flat out (see BENCHMARKS.md, "Prosody's fair share")
    Server Serve write_share: Option<Share> = (none "0.1 on SQLite, 0.25 on flat files");
    /// Audit retention: entries older than this go (`90d`, `12h`, `30m`, `3600s` or
    /// seconds), pruned as writes go
    Server Serve audit_max_age: Option<Age> = (none "kept");
    /// Audit retention: only this many newest entries stay
    Server Serve audit_max_entries: Option<Positive<u64>> = (none "all");
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers name the client:
    /// addresses or CIDRs, comma-separated
    Server Serve trusted_proxies: TrustedProxies = (none "none");
    /// Log lines as plain text (`line`) or one JSON object each (`json`: time, level,
    /// target, message) for log collectors
    Server All log_format: LogFormat = "line";
}

/// The options as clap arguments: for the whole command (`All`, global) or for `serve`
/// and `config`.
pub fn args(on: On) -> Vec<Arg> {
    DECLS
        .iter()
        .filter(|d| d.on == on)
        .map(|d| {
            let mut a = Arg::new(d.name)
                .long(d.flag.replace('_', "-"))
                .value_name(d.name.to_ascii_uppercase())
                .env(d.env())
                .hide_env_values(d.secret)
                .help(format!("{} [default: {}]", d.text(), d.shown_default.replace('`', "")))
                .global(on == On::All);
            a = if d.list { a.action(ArgAction::Append) } else { a.action(ArgAction::Set) };
            a
        })
        .collect()
}

/// The layers a setting is looked up in.
pub struct Layers<'a> {
    /// The flags and variables clap read (those of the subcommand run).
    matches: Option<&'a ArgMatches>,
    toml: Option<(PathBuf, toml::Table)>,
    prosody: Option<&'a ProsodyConfig>,
    /// The host Prosody's config is asked about.
    host: String,
}

impl Layers<'_> {
    /// The value our own layers (flag, variable, TOML) give, if any.
    fn given<T: Setting>(&self, d: &Decl) -> Result<Option<(T, Source)>> {
        if let Some((texts, source)) = self.flag(d) {
            let v = T::from_text(&texts.join(",")).map_err(|e| named(d, e, &source))?;
            return Ok(Some((v, source)));
        }
        if let Some((path, table)) = &self.toml {
            // Our file's `[hosts."<host>"]` table beats its top level, for that host.
            let per_host =
                (d.scope == Scope::Host).then(|| table.get("hosts")?.get(self.host.as_str())?.get(d.name)).flatten();
            if let Some(v) = per_host {
                let source = Source::Toml(path.clone());
                return Ok(Some((T::from_toml(v).map_err(|e| named(d, e, &source))?, source)));
            }
            if let Some(v) = table.get(d.name) {
                let source = Source::Toml(path.clone());
                return Ok(Some((T::from_toml(v).map_err(|e| named(d, e, &source))?, source)));
            }
        }
        Ok(None)
    }

    fn resolve<T: Setting>(&self, d: &Decl, prosody: Option<FromProsody<T>>) -> Result<(T, Source)> {
        let named = |e: anyhow::Error, source: &Source| named(d, e, source);
        if let Some(given) = self.given(d)? {
            return Ok(given);
        }
        if let (Some(pc), Some(f)) = (self.prosody, prosody) {
            let source = Source::Prosody(pc.path.clone());
            if let Some(v) = f(pc, &self.host).map_err(|e| named(e, &source))? {
                return Ok((v, source));
            }
        }
        match d.default {
            Some(text) => Ok((T::from_text(text).map_err(|e| named(e, &Source::Default))?, Source::Default)),
            None => T::absent()
                .map(|v| (v, Source::Default))
                .ok_or_else(|| anyhow!("{}: required, and no default (a declaration error)", d.name)),
        }
    }

    /// The flag or variable clap read, and which of the two it was.
    fn flag(&self, d: &Decl) -> Option<(Vec<String>, Source)> {
        let m = self.matches?;
        let values: Vec<String> = m.try_get_many::<String>(d.name).ok()??.cloned().collect();
        let source = match m.value_source(d.name)? {
            ValueSource::CommandLine => Source::Flag,
            ValueSource::EnvVariable => Source::Variable(d.env()),
            _ => return None,
        };
        Some((values, source))
    }
}

fn named(d: &Decl, e: anyhow::Error, source: &Source) -> anyhow::Error {
    anyhow!("{}: {e} (from {source})", d.name)
}

/// Resolves every setting for one host: the TOML file named by `config` (a flag or
/// variable: it locates a layer, it is no setting), Prosody's config named by any layer
/// above it, and the rest one setting at a time. With a Prosody config of several
/// enabled VirtualHosts, `host` must choose one (the command line's tasks act on one
/// host; `serve` takes them all: [`resolve_hosts`]).
pub fn resolve(matches: Option<&ArgMatches>, config: Option<&Path>) -> Result<(Options, Option<ProsodyConfig>)> {
    let (mut all, pc) = resolve_some(matches, config, false)?;
    Ok((all.remove(0), pc))
}

/// Every setting of every host served: with a Prosody config and no `host` chosen, each
/// of its enabled VirtualHosts in the order it declares them; else the one host.
pub fn resolve_hosts(
    matches: Option<&ArgMatches>,
    config: Option<&Path>,
) -> Result<(Vec<Options>, Option<ProsodyConfig>)> {
    resolve_some(matches, config, true)
}

fn resolve_some(
    matches: Option<&ArgMatches>,
    config: Option<&Path>,
    every_host: bool,
) -> Result<(Vec<Options>, Option<ProsodyConfig>)> {
    let toml = config.map(read_toml).transpose()?;
    let mut layers = Layers { matches, toml, prosody: None, host: String::new() };
    let decl = |name: &str| DECLS.iter().find(|d| d.name == name).ok_or_else(|| anyhow!("no setting {name}"));
    // Prosody's config and the host come first: the other settings are read for that host.
    let pc_path = layers.given::<PathBuf>(decl("prosody_config")?)?.map(|(p, _)| p);
    let wanted = layers.given::<HostName>(decl("host")?)?.map(|(h, _)| h.0);
    let pc = pc_path.as_deref().map(ProsodyConfig::load).transpose()?;
    let hosts = match (&pc, wanted) {
        (Some(pc), None) if every_host && pc.hosts().len() > 1 => pc.hosts().iter().map(|h| h.to_string()).collect(),
        (Some(pc), wanted) => vec![pc.host(wanted.as_deref())?],
        (None, wanted) => vec![wanted.unwrap_or_default()],
    };
    layers.prosody = pc.as_ref();
    let mut all = Vec::with_capacity(hosts.len());
    for host in hosts {
        layers.host = host;
        let mut o = Options::from_layers(&layers).map_err(|e| match &pc {
            Some(pc) if !layers.host.is_empty() => {
                anyhow!("VirtualHost {:?} (declared in {}): {e}", layers.host, pc.declared_in(&layers.host).display())
            }
            _ => e,
        })?;
        // The defaults derived from the host, shown as they apply.
        let host = o.host.0.clone();
        let derived = [
            ("site_name", &mut o.site_name, host.clone()),
            ("groups_muc_host", &mut o.groups_muc_host, format!("groups.{host}")),
        ];
        for (name, value, default) in derived {
            if value.is_none() {
                o.shown.insert(name, (default.clone(), Json::String(default.clone())));
                *value = Some(default);
            }
        }
        all.push(o);
    }
    Ok((all, pc))
}

fn read_toml(p: &Path) -> Result<(PathBuf, toml::Table)> {
    let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| format!("{}", p.display()))?;
    for (k, v) in &table {
        if k == "hosts" {
            // `[hosts."<host>"]`: per-host values of the settings a host may set.
            let hosts = v.as_table().ok_or_else(|| anyhow!("{}: hosts must be a table of hosts", p.display()))?;
            for (host, settings) in hosts {
                let settings = settings
                    .as_table()
                    .ok_or_else(|| anyhow!("{}: hosts.{host:?} must be a table of settings", p.display()))?;
                for k in settings.keys() {
                    match DECLS.iter().find(|d| d.name == k) {
                        Some(d) if d.scope == Scope::Host && d.name != "host" => {}
                        Some(_) => {
                            bail!("{}: hosts.{host:?}.{k} is a setting of the whole server, not of a host", p.display())
                        }
                        None => bail!(
                            "{}: unknown setting hosts.{host:?}.{k} (the settings: `prosody-admin config`)",
                            p.display()
                        ),
                    }
                }
            }
        } else if !DECLS.iter().any(|d| d.name == k) {
            bail!("{}: unknown setting {k:?} (the settings: `prosody-admin config`)", p.display());
        }
    }
    Ok((p.to_path_buf(), table))
}

/// The README's options table, as the declarations give it.
pub fn readme_table() -> String {
    let mut out = String::from("| option | flag / variable | default | meaning |\n|---|---|---|---|\n");
    for d in DECLS {
        let doc = d.text();
        let scope = if d.scope == Scope::Host { " *(per host)*" } else { "" };
        let prosody = if d.from_prosody { " *(Prosody's config)*" } else { "" };
        out.push_str(&format!(
            "| `{}`{scope}{prosody} | `--{}` `{}` | {} | {} |\n",
            d.name,
            d.flag.replace('_', "-"),
            d.env(),
            d.shown_default,
            doc.replace('|', "\\|")
        ));
    }
    out
}

/// The settings of every host served, as `config` prints them: one host's as
/// [`render`]; several, each under a heading (JSON: `{"hosts": {host: {...}}}`).
pub fn render_hosts(all: &[Options], json: bool) -> String {
    match all {
        [one] => render(one, json),
        _ if json => {
            let mut hosts = serde_json::Map::new();
            for o in all {
                hosts.insert(o.host.0.clone(), render_json(o));
            }
            serde_json::to_string_pretty(&serde_json::json!({ "hosts": hosts })).unwrap_or_default() + "\n"
        }
        _ => all
            .iter()
            .map(|o| format!("# VirtualHost {}\n{}", o.host.0, render(o, false)))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// One host's settings as `config --json` shows them: `{name: {value, source, from, scope}}`.
fn render_json(options: &Options) -> Json {
    let mut all = serde_json::Map::new();
    for d in DECLS {
        let (_, value) = options.shown.get(d.name).cloned().unwrap_or_default();
        let source = options.sources.get(d.name).cloned().unwrap_or(Source::Default);
        let mut o = serde_json::Map::new();
        o.insert("value".into(), value);
        o.insert("source".into(), source.kind().into());
        o.insert("from".into(), source.to_string().into());
        o.insert("scope".into(), if d.scope == Scope::Host { "host" } else { "server" }.into());
        all.insert(d.name.into(), Json::Object(o));
    }
    Json::Object(all)
}

/// The resolved settings as `config` prints them: one line each, or one JSON object.
pub fn render(options: &Options, json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(&render_json(options)).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    for d in DECLS {
        let (value, _) = options.shown.get(d.name).cloned().unwrap_or_default();
        let source = options.sources.get(d.name).cloned().unwrap_or(Source::Default);
        out.push_str(&format!("{}: {value}\t(from {source})\n", d.name));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every default parses as its type and every setting resolves with no layer at all.
    #[test]
    fn defaults_resolve() {
        let (o, pc) = resolve(None, None).unwrap();
        assert!(pc.is_none());
        assert_eq!(o.listen.to_string(), "127.0.0.1:5380");
        assert_eq!(o.header_timeout, Seconds(Duration::from_secs(10)));
        assert_eq!(o.invites_page_supports, ["account", "account-and-contact", "contact"]);
        assert_eq!(o.sources.len(), DECLS.len());
        assert!(o.sources.values().all(|s| *s == Source::Default));
        let names: std::collections::HashSet<_> = DECLS.iter().map(|d| d.name).collect();
        assert_eq!(names.len(), DECLS.len(), "a name declared twice");
    }

    /// The README's table is the declarations' (run with PROSODY_ADMIN_BLESS=1 to
    /// rewrite it after changing a declaration).
    #[test]
    fn readme_table_is_generated() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let (begin, end) = ("<!-- options:begin -->\n", "<!-- options:end -->");
        let start = readme.find(begin).expect("README: no options:begin marker") + begin.len();
        let stop = readme.find(end).expect("README: no options:end marker");
        let table = readme_table();
        if readme[start..stop] != table {
            if std::env::var_os("PROSODY_ADMIN_BLESS").is_some() {
                std::fs::write(&path, format!("{}{table}{}", &readme[..start], &readme[stop..])).unwrap();
            } else {
                panic!(
                    "README.md's options table differs from the declarations in src/options.rs; \
                     PROSODY_ADMIN_BLESS=1 cargo test -p prosody-admin --bin prosody-admin readme rewrites it"
                );
            }
        }
    }

    #[test]
    fn values_read_and_refuse() {
        assert_eq!(Age::from_text("90d").unwrap(), Age(90 * 86_400));
        assert_eq!(Age::from_text("3600").unwrap(), Age(3600));
        assert!(Age::from_text("0").is_err() && Age::from_text("9y").is_err());
        assert!(Seconds::from_text("0").is_err());
        assert!(Positive::<usize>::from_text("-1").is_err());
        assert_eq!(Vec::<String>::from_text(" a, ,b ").unwrap(), ["a", "b"]);
        assert!(Origins::from_text("admin.example").is_err());
        assert_eq!(Origins::from_text("https://a.example/,*").unwrap().0, ["https://a.example", "*"]);
        assert!(HttpUrl::from_text("https://x").is_err());
        assert_eq!(Secret("pw".into()).show(), "(set, hidden)");
        assert_eq!(ProsodyVersion::from_toml(&toml::Value::Float(0.12)).unwrap(), ProsodyVersion::V0_12);
        assert_eq!(ProsodyVersion::from_toml(&toml::Value::Integer(13)).unwrap(), ProsodyVersion::V13);
    }
}
