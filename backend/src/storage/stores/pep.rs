//! PEP (mod_pep): map store `pep` per user, key = node name, value = the node (its
//! `config`, affiliations, subscribers); the node's items are the archive store
//! `pep_<node>` (item id `current` for singleton nodes such as the nick).

use serde_json::{Map as JsonMap, Value as Json};

use crate::storage::kinds::{Archive, Item, Map};
use crate::storage::StoreError;

pub(in crate::storage) const STORE: &str = "pep";

/// The archive store of a node's items.
pub(in crate::storage) fn items_store(node: &str) -> String {
    format!("pep_{node}")
}

pub struct Pep<'a> {
    pub(in crate::storage) nodes: Map<'a, Json>,
    pub(in crate::storage) c: crate::storage::engine::Conn<'a>,
    pub(in crate::storage) host: &'a str,
}

impl<'a> Pep<'a> {
    fn items(&self, node: &str) -> Archive<'a> {
        Archive::new(self.c, self.host, items_store(node))
    }

    /// The stored `config` of a node (only the options set explicitly), None when the
    /// node does not exist.
    pub fn node_config(&self, user: &str, node: &str) -> Result<Option<JsonMap<String, Json>>, StoreError> {
        Ok(self.nodes.get(user, node)?.map(|n| match n.get("config") {
            Some(Json::Object(o)) => o.clone(),
            _ => JsonMap::new(),
        }))
    }

    /// Creates a node with `config` unless it exists.
    pub fn ensure_node(&self, user: &str, node: &str, config: Json) -> Result<(), StoreError> {
        if self.nodes.get(user, node)?.is_none() {
            let n = serde_json::json!({"config": config, "name": node, "affiliations": {}, "subscribers": {}});
            self.nodes.set(user, node, &n)?;
        }
        Ok(())
    }

    pub fn item(&self, user: &str, node: &str, id: &str) -> Result<Option<Item>, StoreError> {
        self.items(node).get(user, id)
    }

    pub fn put_item(&self, user: &str, node: &str, id: &str, item: &Item) -> Result<(), StoreError> {
        self.items(node).put(user, id, item)
    }

    pub fn delete_item(&self, user: &str, node: &str, id: &str) -> Result<bool, StoreError> {
        self.items(node).delete(user, id)
    }
}
