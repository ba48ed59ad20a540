//! Values: stored Lua values <-> the row primitives' values (JSON tables, stanzas as
//! util.stanza's preserialized form), and archive items as mod_storage_internal keeps them.

use super::*;

// ---------------------------------------------------------------------------------
// Values

/// A stored Lua value as the row primitives' [`Value`]: tables as JSON.
pub(super) fn to_value(v: &LuaValue) -> Value {
    match v {
        LuaValue::Bool(b) => Value::Boolean(*b),
        LuaValue::Int(i) => Value::Number(*i as f64),
        LuaValue::Float(f) => Value::Number(*f),
        LuaValue::Str(s) => Value::String(String::from_utf8_lossy(s).into_owned()),
        LuaValue::Table(_) => Value::Json(to_json(v)),
    }
}

pub(super) fn to_json(v: &LuaValue) -> Json {
    match v {
        LuaValue::Bool(b) => Json::Bool(*b),
        LuaValue::Int(i) => Json::from(*i),
        LuaValue::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        LuaValue::Str(s) => Json::String(String::from_utf8_lossy(s).into_owned()),
        LuaValue::Table(entries) => {
            let positional = entries.iter().enumerate().all(|(i, (k, _))| *k == LuaValue::Int(i as i64 + 1));
            if positional && !entries.is_empty() {
                Json::Array(entries.iter().map(|(_, v)| to_json(v)).collect())
            } else {
                let mut m = JsonMap::new();
                for (k, v) in entries {
                    let key = match k {
                        LuaValue::Str(s) => String::from_utf8_lossy(s).into_owned(),
                        LuaValue::Int(i) => i.to_string(),
                        LuaValue::Bool(b) => b.to_string(),
                        LuaValue::Float(f) => f.to_string(),
                        LuaValue::Table(_) => continue,
                    };
                    m.insert(key, to_json(v));
                }
                Json::Object(m)
            }
        }
    }
}

pub(super) fn from_value(v: &Value) -> LuaValue {
    match v {
        Value::String(s) => LuaValue::str(s),
        Value::Number(n) => number(*n),
        Value::Boolean(b) => LuaValue::Bool(*b),
        Value::Json(j) => from_json(j),
        Value::Xml(x) => LuaValue::str(x),
        Value::Other(_, s) => LuaValue::str(s),
    }
}

pub(super) fn number(n: f64) -> LuaValue {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        LuaValue::Int(n as i64)
    } else {
        LuaValue::Float(n)
    }
}

pub(super) fn from_json(j: &Json) -> LuaValue {
    match j {
        Json::Null => LuaValue::Table(Vec::new()),
        Json::Bool(b) => LuaValue::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => LuaValue::Int(i),
            None => LuaValue::Float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => LuaValue::str(s),
        Json::Array(a) => {
            LuaValue::Table(a.iter().enumerate().map(|(i, v)| (LuaValue::Int(i as i64 + 1), from_json(v))).collect())
        }
        // JSON null members are Lua nils: absent.
        Json::Object(o) => LuaValue::Table(
            o.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (LuaValue::str(k), from_json(v))).collect(),
        ),
    }
}

/// A stanza or payload as st.preserialize gives it: `{ name=, attr={}, children... }`.
pub(super) fn preserialize(e: &Element) -> LuaValue {
    let mut entries: Vec<(LuaValue, LuaValue)> = Vec::new();
    for (i, c) in e.children().iter().enumerate() {
        let v = match c {
            Node::Text(t) => LuaValue::str(t),
            Node::Element(el) => preserialize(el),
        };
        entries.push((LuaValue::Int(i as i64 + 1), v));
    }
    entries.push((LuaValue::str("name"), LuaValue::str(e.name())));
    let attr = e.attrs().iter().map(|(k, v)| (LuaValue::str(k), LuaValue::str(v))).collect();
    entries.push((LuaValue::str("attr"), LuaValue::Table(attr)));
    LuaValue::Table(entries)
}

/// The element a preserialized table stands for (archive fields and `stamp` left out).
pub(super) fn deserialize(v: &LuaValue, top: bool) -> Option<Element> {
    let LuaValue::Str(name) = v.get("name")? else { return None };
    let mut e = Element::new(std::str::from_utf8(name).ok()?);
    if let Some(LuaValue::Table(attrs)) = v.get("attr") {
        // A Lua table has no order: the namespace first, then by name (the same text
        // whatever order Lua iterated in).
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (k, val) in attrs {
            if let (LuaValue::Str(k), LuaValue::Str(val)) = (k, val) {
                let k = std::str::from_utf8(k).ok()?;
                if top && (k == "stamp" || k == "stamp_legacy") {
                    continue;
                }
                pairs.push((k, std::str::from_utf8(val).ok()?));
            }
        }
        pairs.sort_by_key(|(k, _)| (*k != "xmlns", *k));
        for (k, val) in pairs {
            e = e.attr(k, val);
        }
    }
    let LuaValue::Table(entries) = v else { return None };
    for (i, (k, child)) in entries.iter().enumerate() {
        if *k != LuaValue::Int(i as i64 + 1) {
            break;
        }
        match child {
            LuaValue::Str(t) => e.push(Node::Text(String::from_utf8_lossy(t).into_owned())),
            t @ LuaValue::Table(_) => e.push(Node::Element(deserialize(t, false)?)),
            _ => return None,
        }
    }
    Some(e)
}

/// XEP-0082 date-time of `when`.
pub(super) fn stamp(when: i64) -> String {
    let days = when.div_euclid(86_400);
    let secs = when.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// An archive item as mod_storage_internal writes it. Stanzas are preserialized with
/// their `stamp`; values of our own stores (JSON) are kept as text under `value`.
pub(super) fn item(key: &str, when: i64, with: &str, v: &Value, pos: Option<i64>) -> LuaValue {
    let mut entries = match v {
        Value::Xml(x) => match Element::parse(x).map(|e| preserialize(&e)) {
            Some(LuaValue::Table(mut t)) => {
                if let Some((_, LuaValue::Table(attr))) = t.iter_mut().find(|(k, _)| *k == LuaValue::str("attr")) {
                    attr.push((LuaValue::str("stamp"), LuaValue::str(&stamp(when))));
                }
                t
            }
            _ => vec![(LuaValue::str("value"), LuaValue::str(x)), (LuaValue::str("type"), LuaValue::str("xml"))],
        },
        other => {
            let (ty, text) = other.encode();
            vec![(LuaValue::str("value"), LuaValue::str(&text)), (LuaValue::str("type"), LuaValue::str(ty))]
        }
    };
    entries.push((LuaValue::str("key"), LuaValue::str(key)));
    entries.push((LuaValue::str("when"), LuaValue::Int(when)));
    entries.push((LuaValue::str("with"), LuaValue::str(with)));
    if let Some(p) = pos {
        entries.push((LuaValue::str("pos"), LuaValue::Int(p)));
    }
    LuaValue::Table(entries)
}

/// An item read back: (key, when, with, value, our position if it has one).
pub(super) struct Stored {
    pub(super) key: String,
    pub(super) when: i64,
    pub(super) with: String,
    pub(super) value: Value,
    pub(super) pos: Option<i64>,
}

/// An item's position, if we numbered it (read without decoding its value).
pub(super) fn item_pos(v: &LuaValue) -> Option<i64> {
    match v.get("pos") {
        Some(LuaValue::Int(i)) => Some(*i),
        Some(LuaValue::Float(f)) => Some(*f as i64),
        _ => None,
    }
}

/// The position of the last item of `items` that has one.
pub(super) fn last_pos(items: &[LuaValue]) -> Option<i64> {
    items.iter().rev().find_map(item_pos)
}

pub(super) fn read_item(v: &LuaValue) -> Option<Stored> {
    let text = |k: &str| match v.get(k) {
        Some(LuaValue::Str(s)) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    };
    let int = |k: &str| match v.get(k) {
        Some(LuaValue::Int(i)) => Some(*i),
        Some(LuaValue::Float(f)) => Some(*f as i64),
        _ => None,
    };
    let value = match (text("type"), text("value")) {
        (Some(ty), Some(val)) => Value::decode(&ty, val),
        _ => Value::Xml(deserialize(v, true)?.to_xml().ok()?),
    };
    Some(Stored {
        key: text("key").unwrap_or_default(),
        when: int("when").unwrap_or(0),
        with: text("with").unwrap_or_default(),
        value,
        pos: item_pos(v),
    })
}
