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

/// The methods the spec declares for a request path under `base` (e.g.
/// `/admin_api/users/bob` → GET, PUT, DELETE), for the `Allow` header of a 405. A path
/// matches a template when the segment counts agree and each literal segment is equal.
pub fn allowed_methods(base: &str, path: &str) -> Vec<String> {
    let Some(rest) = path.strip_prefix(base) else { return Vec::new() };
    let Ok(spec) = spec_json() else { return Vec::new() };
    let Some(paths) = spec.get("paths").and_then(Json::as_object) else { return Vec::new() };
    let segs: Vec<&str> = rest.split('/').collect();
    let mut out: Vec<String> = Vec::new();
    for (template, item) in paths {
        let t: Vec<&str> = template.split('/').collect();
        let matches = t.len() == segs.len()
            && t.iter().zip(&segs).all(|(a, b)| (a.starts_with('{') && a.ends_with('}')) || a == b);
        if matches {
            for m in item.as_object().map(|o| o.keys()).into_iter().flatten() {
                let m = m.to_ascii_uppercase();
                if ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"].contains(&m.as_str()) && !out.contains(&m) {
                    out.push(m);
                }
            }
        }
    }
    out.sort();
    out
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
    fn allowed_methods_follow_the_spec() {
        let m = |p: &str| super::allowed_methods("/admin_api", p);
        assert_eq!(m("/admin_api/users/bob"), ["DELETE", "GET", "PUT"]);
        assert_eq!(m("/admin_api/invites/account"), ["DELETE", "GET", "POST"]);
        assert_eq!(m("/admin_api/groups"), ["GET", "POST"]);
        assert!(m("/admin_api/nothing/here/at/all").is_empty());
        assert!(m("/elsewhere").is_empty());
    }
}
