//! The contract this server was generated from, embedded at build time and served by
//! GET /openapi.yaml and /openapi.json.

use std::sync::OnceLock;

use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

/// `api-spec/openapi.yaml`, byte for byte.
pub const SPEC_YAML: &str = include_str!("../../api-spec/openapi.yaml");

/// The same document as JSON (computed once).
pub fn spec_json() -> Result<&'static Json, String> {
    static JSON: OnceLock<Result<Json, String>> = OnceLock::new();
    JSON.get_or_init(|| {
        let y: Yaml = serde_yaml_ng::from_str(SPEC_YAML).map_err(|e| format!("embedded spec: {e}"))?;
        to_json(y)
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// The listings: operations the spec marks `x-prosody-admin-listing: <kind>`, served
/// a page at a time straight from rows (see `paging`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Users,
    Groups,
    Invites,
}

impl Listing {
    /// The kind an `x-prosody-admin-listing` value names.
    pub fn parse(s: &str) -> Option<Listing> {
        match s {
            "users" => Some(Listing::Users),
            "groups" => Some(Listing::Groups),
            "invites" => Some(Listing::Invites),
            _ => None,
        }
    }
}

/// One path of the spec: its segments (None for a `{parameter}`) and its methods.
pub struct Route {
    /// The path as the spec writes it (`/users/{username}`).
    template: String,
    segments: Vec<Option<String>>,
    literal: usize,
    /// The methods of the path, sorted (for `Allow`).
    pub methods: Vec<String>,
    /// The methods marked `x-prosody-admin-cacheable: true`.
    pub cacheable: Vec<String>,
    /// The methods declared with `security: []` (no authentication).
    pub public: Vec<String>,
    /// The GET marked `x-prosody-admin-listing`, and which listing it is.
    listing: Option<Listing>,
    /// (method, operationId) of each operation of the path.
    operations: Vec<(String, String)>,
}

impl Route {
    pub fn allows(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m == method)
    }

    pub fn cacheable(&self, method: &str) -> bool {
        self.cacheable.iter().any(|m| m == method)
    }

    pub fn public(&self, method: &str) -> bool {
        self.public.iter().any(|m| m == method)
    }

    /// The path as the spec writes it.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// Which listing `method` on this path is, if the spec marks it one.
    pub fn listing(&self, method: &str) -> Option<Listing> {
        self.listing.filter(|_| method == "GET")
    }

    /// The operationId of `method` on this path.
    pub fn operation(&self, method: &str) -> Option<&str> {
        self.operations.iter().find(|(m, _)| m == method).map(|(_, id)| id.as_str())
    }
}

/// The vendor extension that marks a listing.
const LISTING_MARK: &str = "x-prosody-admin-listing";

/// The spec's paths, compiled once.
fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let Some(paths) = spec_json().ok().and_then(|s| s.get("paths")).and_then(Json::as_object) else {
            return Vec::new();
        };
        paths
            .iter()
            .map(|(template, item)| {
                let segments: Vec<Option<String>> = template
                    .split('/')
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_string()))
                    .collect();
                let ops: Vec<(String, &Json)> = item
                    .as_object()
                    .map(|o| o.iter().map(|(m, op)| (m.to_ascii_uppercase(), op)).collect())
                    .unwrap_or_default();
                let mut methods: Vec<String> = ops
                    .iter()
                    .map(|(m, _)| m.clone())
                    .filter(|m| {
                        ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"].contains(&m.as_str())
                    })
                    .collect();
                methods.sort();
                let cacheable = ops
                    .iter()
                    .filter(|(m, op)| m == "GET" && op.get("x-prosody-admin-cacheable") == Some(&Json::Bool(true)))
                    .map(|(m, _)| m.clone())
                    .collect();
                let public = ops
                    .iter()
                    .filter(|(_, op)| op.get("security").and_then(Json::as_array).is_some_and(|a| a.is_empty()))
                    .map(|(m, _)| m.clone())
                    .collect();
                // An unknown kind is no listing; the tests below check every mark parses.
                let listing = ops
                    .iter()
                    .filter(|(m, _)| m == "GET")
                    .find_map(|(_, op)| op.get(LISTING_MARK)?.as_str().and_then(Listing::parse));
                let operations = ops
                    .iter()
                    .filter_map(|(m, op)| Some((m.clone(), op.get("operationId")?.as_str()?.to_string())))
                    .collect();
                Route {
                    template: template.clone(),
                    listing,
                    literal: segments.iter().filter(|s| s.is_some()).count(),
                    segments,
                    methods,
                    cacheable,
                    public,
                    operations,
                }
            })
            .collect()
    })
}

/// Every operationId of the spec.
pub fn operation_ids() -> Vec<&'static str> {
    routes().iter().flat_map(|r| r.operations.iter().map(|(_, id)| id.as_str())).collect()
}

/// The spec's `info.version`.
pub fn spec_version() -> &'static str {
    spec_json().ok().and_then(|s| s["info"]["version"].as_str()).unwrap_or("unknown")
}

/// The methods the spec declares for the resource a request path names, or None when
/// no path of the spec matches (404). `path` is the full request path, under `base`.
///
/// As OpenAPI says, a concrete path wins over a templated one: `/invites/account` is
/// `POST` only, although `/invites/{id}` would also match it. Among templates, the one
/// with the most literal segments wins. A template segment `{x}` matches any non-empty
/// segment.
pub fn route(base: &str, path: &str) -> Option<&'static Route> {
    let rest = path.strip_prefix(base)?;
    let n = rest.split('/').count();
    let mut best: Option<&Route> = None;
    for r in routes().iter().filter(|r| r.segments.len() == n) {
        let matches = r.segments.iter().zip(rest.split('/')).all(|(t, s)| match t {
            Some(lit) => lit == s,
            None => !s.is_empty(),
        });
        if matches && best.is_none_or(|b| r.literal > b.literal) {
            best = Some(r);
        }
    }
    best
}

/// YAML → JSON; mapping keys become strings (the spec's status codes are integer keys).
fn to_json(y: Yaml) -> Result<Json, String> {
    Ok(match y {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(b),
        Yaml::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Yaml::String(s) => Json::String(s),
        Yaml::Sequence(v) => Json::Array(v.into_iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Mapping(m) => {
            let mut o = serde_json::Map::new();
            for (k, v) in m {
                let key = match k {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                o.insert(key, to_json(v)?);
            }
            Json::Object(o)
        }
        Yaml::Tagged(t) => to_json(t.value)?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_form_is_the_same_document() {
        let j = super::spec_json().unwrap();
        assert_eq!(j["openapi"], "3.0.1");
        assert!(j["paths"]["/users"]["get"]["responses"]["200"].is_object());
        assert_eq!(j["paths"]["/openapi.yaml"]["get"]["security"], serde_json::json!([]));
    }

    #[test]
    fn routes_follow_the_spec() {
        let m = |p: &str| super::route("/admin_api", p).map(|r| r.methods.clone());
        assert_eq!(m("/admin_api/users/bob").unwrap(), ["DELETE", "GET", "PATCH", "PUT"]);
        assert_eq!(m("/admin_api/invites/account").unwrap(), ["POST"], "concrete path wins");
        assert_eq!(m("/admin_api/invites/abc").unwrap(), ["DELETE", "GET"]);
        assert_eq!(m("/admin_api/groups").unwrap(), ["GET", "POST"]);
        assert_eq!(m("/admin_api/users/bob/groups").unwrap(), ["GET"]);
        assert_eq!(m("/admin_api/users/"), None, "an empty parameter names nothing");
        assert_eq!(m("/admin_api/nothing/here/at/all"), None);
        assert_eq!(m("/elsewhere"), None);
        let r = super::route("/admin_api", "/admin_api/users/bob").unwrap();
        assert!(r.cacheable("GET") && !r.cacheable("PUT"));
        assert!(!super::route("/admin_api", "/admin_api/invites").unwrap().cacheable("GET"), "time-dependent");
        assert!(super::route("/admin_api", "/admin_api/openapi.json").unwrap().public("GET"));
        assert!(!r.public("GET"));
        assert_eq!(r.operation("PATCH"), Some("patchUser"));
        assert_eq!(r.operation("POST"), None);
    }

    #[test]
    fn listings_come_from_the_spec() {
        use super::Listing;
        let l = |p: &str, m: &str| super::route("/admin_api", p).and_then(|r| r.listing(m));
        assert_eq!(l("/admin_api/users", "GET"), Some(Listing::Users));
        assert_eq!(l("/admin_api/groups", "GET"), Some(Listing::Groups));
        assert_eq!(l("/admin_api/invites", "GET"), Some(Listing::Invites));
        assert_eq!(l("/admin_api/groups", "POST"), None, "only the GET");
        assert_eq!(l("/admin_api/users/bob", "GET"), None);
        assert_eq!(super::route("/admin_api", "/admin_api/users").map(|r| r.template()), Some("/users"));
        // Every mark in the spec names a listing this code serves: a typo would make an
        // operation silently go through the generated trait instead.
        let spec = super::spec_json().unwrap();
        let mut marks = 0;
        for item in spec["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                if let Some(v) = op.get(super::LISTING_MARK) {
                    marks += 1;
                    assert!(v.as_str().and_then(Listing::parse).is_some(), "unknown listing {v}");
                }
            }
        }
        assert_eq!(marks, 3);
    }
}
