//! Prosody's typed values: the `type`/`value` column pair of mod_storage_sql 0.12.

use serde_json::Value as Json;

/// A stored value, as mod_storage_sql 0.12 encodes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `string`: raw text.
    String(String),
    /// `number`: Lua's `tostring` of a number (`10000`, `1.5`).
    Number(f64),
    /// `boolean`: `true` / `false`.
    Boolean(bool),
    /// `json`: util.json text (an empty Lua table is `{}`).
    Json(Json),
    /// `xml`: a serialized stanza (archive items).
    Xml(String),
    /// A type this service does not interpret; kept as is.
    Other(String, String),
}

impl Value {
    pub fn decode(ty: &str, value: String) -> Value {
        match ty {
            "string" => Value::String(value),
            "number" => match value.parse::<f64>() {
                Ok(n) => Value::Number(n),
                Err(_) => Value::Other(ty.to_string(), value),
            },
            "boolean" => match value.as_str() {
                "true" => Value::Boolean(true),
                "false" => Value::Boolean(false),
                _ => Value::Other(ty.to_string(), value),
            },
            "json" => match serde_json::from_str(&value) {
                Ok(j) => Value::Json(j),
                Err(_) => Value::Other(ty.to_string(), value),
            },
            "xml" => Value::Xml(value),
            _ => Value::Other(ty.to_string(), value),
        }
    }

    /// [`Value::decode`] of a borrowed text: allocates only what the value keeps.
    pub fn decode_str(ty: &str, value: &str) -> Value {
        match ty {
            "number" => match value.parse::<f64>() {
                Ok(n) => Value::Number(n),
                Err(_) => Value::Other(ty.to_string(), value.to_string()),
            },
            "boolean" => match value {
                "true" => Value::Boolean(true),
                "false" => Value::Boolean(false),
                _ => Value::Other(ty.to_string(), value.to_string()),
            },
            "json" => match serde_json::from_str(value) {
                Ok(j) => Value::Json(j),
                Err(_) => Value::Other(ty.to_string(), value.to_string()),
            },
            _ => Value::decode(ty, value.to_string()),
        }
    }

    pub fn encode(&self) -> (&str, String) {
        match self {
            Value::String(s) => ("string", s.clone()),
            Value::Number(n) => ("number", lua_number(*n)),
            Value::Boolean(b) => ("boolean", b.to_string()),
            Value::Json(j) => ("json", j.to_string()),
            Value::Xml(x) => ("xml", x.clone()),
            Value::Other(t, v) => (t.as_str(), v.clone()),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as text, the way Lua's `tostring` would show a string or number.
    pub fn to_text(&self) -> Option<String> {
        match self {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(lua_number(*n)),
            _ => None,
        }
    }

    /// The Lua value this row stands for, as JSON: how a keyval table's fields and a
    /// map store's values reach serde types. None for `xml` and unknown types.
    pub fn to_json(&self) -> Option<Json> {
        match self {
            Value::String(s) => Some(Json::String(s.clone())),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Some(Json::from(*n as i64)),
            Value::Number(n) => serde_json::Number::from_f64(*n).map(Json::Number),
            Value::Boolean(b) => Some(Json::Bool(*b)),
            Value::Json(j) => Some(j.clone()),
            Value::Xml(_) | Value::Other(..) => None,
        }
    }

    /// How mod_storage_sql stores a Lua value: strings, numbers and booleans as such,
    /// tables as JSON. None for `null` (Lua's nil: no row at all).
    pub fn from_json(j: Json) -> Option<Value> {
        match j {
            Json::Null => None,
            Json::String(s) => Some(Value::String(s)),
            Json::Number(n) => n.as_f64().map(Value::Number),
            Json::Bool(b) => Some(Value::Boolean(b)),
            j @ (Json::Array(_) | Json::Object(_)) => Some(Value::Json(j)),
        }
    }

    pub fn as_json(&self) -> Option<&Json> {
        match self {
            Value::Json(j) => Some(j),
            _ => None,
        }
    }
}

/// `tostring(n)` for the numbers we meet: integers print without a fraction.
fn lua_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_borrowed_text_is_decoding_owned_text() {
        for (ty, v) in [
            ("number", "10000"),
            ("number", "1.5"),
            ("number", "x"),
            ("boolean", "true"),
            ("boolean", "false"),
            ("boolean", "maybe"),
            ("string", "e92314ef"),
            ("json", r#"{"a":[1,"b"]}"#),
            ("json", "{"),
            ("xml", "<nick xmlns='http://jabber.org/protocol/nick'>N</nick>"),
            ("lua", "{}"),
        ] {
            assert_eq!(Value::decode_str(ty, v), Value::decode(ty, v.to_string()), "{ty} {v}");
        }
    }

    #[test]
    fn round_trips_as_prosody_writes() {
        for (ty, v) in [("number", "10000"), ("boolean", "true"), ("string", "e92314ef"), ("json", "{}")] {
            let d = Value::decode(ty, v.to_string());
            assert_eq!(d.encode(), (ty, v.to_string()));
        }
        assert_eq!(Value::Number(1.5).encode().1, "1.5");
        assert!(matches!(Value::decode("boolean", "maybe".into()), Value::Other(..)));
        for j in [
            serde_json::json!("s"),
            serde_json::json!(10000),
            serde_json::json!(1.5),
            serde_json::json!(true),
            serde_json::json!({"a": [1]}),
        ] {
            assert_eq!(Value::from_json(j.clone()).and_then(|v| v.to_json()), Some(j));
        }
        assert_eq!(Value::from_json(Json::Null), None);
    }
}
