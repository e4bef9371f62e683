//! A lean YAML tree: what the render turns each object into before it derives patches and writes
//! text. It holds what `serde_yaml::Value` would hold for a k8s-openapi object, in the same order,
//! but its mappings are plain vectors of entries (a Kubernetes mapping has a handful of keys, so a
//! scan beats hashing) and a struct's field names stay borrowed (`&'static str`): no hash table
//! and no string allocated per key. Rendering turned every object into a `Value` and most of its
//! time was spent building, cloning and dropping those trees.
//!
//! [`Node::of`] builds a tree from anything serde can serialise (a k8s-openapi object, a
//! `serde_yaml::Value`); `Node` is serialisable itself, so `serde_yaml::to_value(&node)` gives the
//! `Value` back for callers that want one.

use std::borrow::Cow;
use std::fmt;

use serde::ser::{self, Serialize, SerializeMap, SerializeSeq};

/// A mapping's key: a struct's field name (borrowed) or a map's key (owned).
pub type Key = Cow<'static, str>;

/// A mapping: its entries in order, keys unique.
pub type Map = Vec<(Key, Node)>;

/// One YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    /// A negative integer; every other integer is [`Node::UInt`], as serde_yaml keeps them.
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Map),
}

// The small accessors are `#[inline]`: the core's patch derivation and writer call them in their
// inner loops, from another crate.
impl Node {
    /// The tree of anything serialisable. Serialising a k8s-openapi object cannot fail; a type
    /// of ours that serde cannot express as YAML (a map with a non-string key, an enum variant
    /// with data) is a bug, and says which.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Node {
        value.serialize(NodeSerializer).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The value under `key` of a mapping (`None` for anything else).
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(m) => get(m, key),
            _ => None,
        }
    }

    #[inline]
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match self {
            Node::Map(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    #[inline]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    #[inline]
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Node::Map(m) => Some(m),
            _ => None,
        }
    }

    #[inline]
    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Node>> {
        match self {
            Node::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// A string node.
    pub fn str(s: impl Into<String>) -> Node {
        Node::Str(s.into())
    }
}

/// `node["key"]`: the value under `key` of a mapping, [`Node::Null`] when there is none (as
/// `serde_yaml::Value` indexes).
impl std::ops::Index<&str> for Node {
    type Output = Node;
    #[inline]
    fn index(&self, key: &str) -> &Node {
        self.get(key).unwrap_or(&Node::Null)
    }
}

/// `node[i]`: the `i`th element of a sequence, [`Node::Null`] when there is none.
impl std::ops::Index<usize> for Node {
    type Output = Node;
    #[inline]
    fn index(&self, i: usize) -> &Node {
        match self {
            Node::Seq(items) => items.get(i).unwrap_or(&Node::Null),
            _ => &Node::Null,
        }
    }
}

/// The entry of `map` under `key`, if any.
#[inline]
pub fn get<'m>(map: &'m Map, key: &str) -> Option<&'m Node> {
    map.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Sets `key` to `value`: in its place when the key is there, last otherwise (as an insertion
/// into an ordered map does).
pub fn insert(map: &mut Map, key: impl Into<Key>, value: Node) {
    let key = key.into();
    match map.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => *v = value,
        None => map.push((key, value)),
    }
}

/// Removes `key`, the last entry taking its place: serde_yaml's `Mapping::remove` (IndexMap's
/// `swap_remove`), kept so that the generated files keep their order.
#[inline]
pub fn swap_remove(map: &mut Map, key: &str) -> Option<Node> {
    let i = map.iter().position(|(k, _)| k == key)?;
    Some(map.swap_remove(i).1)
}

impl Serialize for Node {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Int(i) => s.serialize_i64(*i),
            Node::UInt(u) => s.serialize_u64(*u),
            Node::Float(f) => s.serialize_f64(*f),
            Node::Str(v) => s.serialize_str(v),
            Node::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
        }
    }
}

/// What cannot become a [`Node`].
#[derive(Debug)]
pub struct NodeError(String);

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write as YAML: {}", self.0)
    }
}

impl std::error::Error for NodeError {}

impl ser::Error for NodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        NodeError(msg.to_string())
    }
}

fn unsupported<T>(what: &str) -> Result<T, NodeError> {
    Err(NodeError(format!("{what} is not written")))
}

/// Serialises into a [`Node`].
struct NodeSerializer;

impl ser::Serializer for NodeSerializer {
    type Ok = Node;
    type Error = NodeError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = ser::Impossible<Node, NodeError>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = ser::Impossible<Node, NodeError>;

    fn serialize_bool(self, v: bool) -> Result<Node, NodeError> {
        Ok(Node::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Node, NodeError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<Node, NodeError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<Node, NodeError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<Node, NodeError> {
        Ok(if v < 0 { Node::Int(v) } else { Node::UInt(v as u64) })
    }
    fn serialize_u8(self, v: u8) -> Result<Node, NodeError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<Node, NodeError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<Node, NodeError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<Node, NodeError> {
        Ok(Node::UInt(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Node, NodeError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<Node, NodeError> {
        Ok(Node::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Node, NodeError> {
        Ok(Node::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Node, NodeError> {
        Ok(Node::Str(v.to_owned()))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Node, NodeError> {
        unsupported("a byte string")
    }
    fn serialize_none(self) -> Result<Node, NodeError> {
        Ok(Node::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Node, NodeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Node, NodeError> {
        Ok(Node::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Node, NodeError> {
        Ok(Node::Null)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Node, NodeError> {
        Ok(Node::Str(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<Node, NodeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<Node, NodeError> {
        unsupported(&format!("the enum variant {name}::{variant} with data"))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, NodeError> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, NodeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqBuilder, NodeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NodeError> {
        unsupported(&format!("the enum variant {name}::{variant} with data"))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, NodeError> {
        Ok(MapBuilder { entries: Vec::with_capacity(len.unwrap_or(0)), key: None })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapBuilder, NodeError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NodeError> {
        unsupported(&format!("the enum variant {name}::{variant} with data"))
    }
}

struct SeqBuilder(Vec<Node>);

impl SerializeSeq for SeqBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        self.0.push(value.serialize(NodeSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Node, NodeError> {
        Ok(Node::Seq(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, NodeError> {
        SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, NodeError> {
        SerializeSeq::end(self)
    }
}

struct MapBuilder {
    entries: Map,
    key: Option<Key>,
}

impl SerializeMap for MapBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), NodeError> {
        self.key = Some(match key.serialize(NodeSerializer)? {
            Node::Str(s) => Cow::Owned(s),
            other => return Err(NodeError(format!("a mapping key that is not a string: {other:?}"))),
        });
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        let key = self.key.take().ok_or_else(|| NodeError("a mapping value without its key".into()))?;
        let value = value.serialize(NodeSerializer)?;
        // Every map serde hands over (a `BTreeMap`, an `IndexMap`, a `serde_yaml::Mapping`) holds
        // each key once: no search for an earlier entry, which would make a large map quadratic.
        self.entries.push((key, value));
        Ok(())
    }
    fn end(self) -> Result<Node, NodeError> {
        Ok(Node::Map(self.entries))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), NodeError> {
        let value = value.serialize(NodeSerializer)?;
        // A struct's fields are distinct: no search for an earlier entry.
        self.entries.push((Cow::Borrowed(key), value));
        Ok(())
    }
    fn end(self) -> Result<Node, NodeError> {
        Ok(Node::Map(self.entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_yaml::Value;

    /// A tree read back through serde_yaml is the `Value` serde_yaml builds itself, order included.
    #[test]
    fn a_node_is_the_value_serde_yaml_builds() {
        let text = "b: 1\na: [x, -2, 1.5, true, null, {}, []]\nc: {z: '1', y: {k: v}}\n";
        let value: Value = serde_yaml::from_str(text).unwrap();
        let node = Node::of(&value);
        assert_eq!(serde_yaml::to_value(&node).unwrap(), value);
        let Node::Map(entries) = &node else { panic!("{node:?}") };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert_eq!(
            node.get("a").and_then(|a| if let Node::Seq(s) = a { s.get(1) } else { None }),
            Some(&Node::Int(-2))
        );
    }

    #[test]
    fn swap_remove_moves_the_last_entry_into_the_gap_as_serde_yaml_does() {
        let mut value: Value = serde_yaml::from_str("a: 1\nb: 2\nc: 3\n").unwrap();
        let Node::Map(mut map) = Node::of(&value) else { unreachable!() };
        value.as_mapping_mut().unwrap().remove("a");
        swap_remove(&mut map, "a");
        let theirs: Vec<&str> = value.as_mapping().unwrap().keys().filter_map(Value::as_str).collect();
        let ours: Vec<&str> = map.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(ours, theirs);
        assert_eq!(ours, ["c", "b"]);
    }

    #[test]
    fn a_map_with_a_key_that_is_not_a_string_is_refused() {
        let map = std::collections::BTreeMap::from([(1, 2)]);
        let err = map.serialize(NodeSerializer).unwrap_err();
        assert!(err.to_string().contains("not a string"), "{err}");
    }
}
