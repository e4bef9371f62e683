//! The strict reader: a YAML value read into a typed object, every field of every nested struct
//! checked against the fields the type declares. A misspelt `imagePullPolicyy` is an error naming
//! its path (`spec.template.spec.containers.0.imagePullPolicyy`), not a field silently dropped.
//!
//! Serde hands a struct's field names to its deserializer (`deserialize_struct(name, fields, _)`),
//! and k8s-openapi's types and serde's derive both list every field there, `apiVersion` and
//! `kind` included. So the check is one comparison per key, in the one deserializer here; nothing
//! wraps the type's own visitor. That matters for the build: the reader is compiled once per
//! nested type of every kind the tree holds (about two hundred), and a wrapping reader (serde_yaml's
//! value deserializer under serde_ignored) was a quarter of the core's generated code.
//!
//! The check relies on that list: a type that reads a map of its own (`deserialize_map`, as serde's
//! derive does for a struct with a `#[serde(flatten)]` field) has no field names to check against,
//! and its keys pass. No type the tree holds does that; the tests below find misspellings at the
//! root, in `metadata`, in `spec`, in an optional struct and in a list's item of a Deployment, and
//! `external_secret`'s in the custom resources.
//!
//! As in serde_yaml's own reader, `null` reads as an empty list or map where a type asks for one,
//! and a tag (`!tag value`) is read through to its value.

use std::cell::RefCell;
use std::fmt;
use std::sync::LazyLock;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};
use serde::forward_to_deserialize_any;
use serde_yaml::{Mapping, Value};

/// Deserialises `value` into `T`, failing on any field `T` (or a type nested in it) does not know:
/// every unknown field is named, by its path, in one error.
pub fn strict<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    let name = value.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("?");
    let unknown = RefCell::new(Vec::new());
    let parsed = T::deserialize(Reader { value: untagged(value), path: Path::Root, unknown: &unknown });
    let unknown = unknown.into_inner();
    match parsed {
        Err(e) => Err(format!("{name}: {e}")),
        Ok(_) if !unknown.is_empty() => Err(format!("{name}: unknown field {}", unknown.join(", "))),
        Ok(parsed) => Ok(parsed),
    }
}

/// The value under any tags (`!tag value`): a tag is read through, as serde_yaml reads it.
fn untagged(mut value: &Value) -> &Value {
    while let Value::Tagged(tagged) = value {
        value = &tagged.value;
    }
    value
}

/// Where a value sits in the document, child to parent.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    /// `spec.containers.0.image`; the root is empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (parent, segment): (_, &dyn fmt::Display) = match self {
            Path::Root => return Ok(()),
            Path::Key(parent, key) => (parent, key),
            Path::Index(parent, index) => (parent, index),
        };
        match parent {
            Path::Root => write!(f, "{segment}"),
            parent => write!(f, "{parent}.{segment}"),
        }
    }
}

/// A reading error, with the path of the innermost value it was raised at.
#[derive(Debug)]
pub struct Error {
    message: String,
    path: Option<String>,
}

impl Error {
    /// Names `path` as where this error happened, unless a deeper value already did.
    fn at(mut self, path: &Path<'_>) -> Error {
        if self.path.is_none() && !matches!(path, Path::Root) {
            self.path = Some(path.to_string());
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{path}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Error {
        Error { message: message.to_string(), path: None }
    }
}

/// One value being read, where it sits, and the unknown fields found so far.
#[derive(Clone, Copy)]
struct Reader<'a> {
    value: &'a Value,
    path: Path<'a>,
    unknown: &'a RefCell<Vec<String>>,
}

// The reader's methods below are compiled once per type read; the work is in these helpers,
// which are not generic and are compiled once.
impl<'a> Reader<'a> {
    fn invalid(&self, expected: &dyn de::Expected) -> Error {
        let unexpected = match self.value {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Unexpected::Unsigned(u),
                (None, Some(i)) => Unexpected::Signed(i),
                _ => Unexpected::Float(n.as_f64().unwrap_or_default()),
            },
            Value::String(s) => Unexpected::Str(s),
            Value::Sequence(_) => Unexpected::Seq,
            Value::Mapping(_) => Unexpected::Map,
            Value::Tagged(_) => Unexpected::Other("a tagged value"),
        };
        de::Error::invalid_type(unexpected, expected)
    }

    fn str(&self, expected: &dyn de::Expected) -> Result<&'a str, Error> {
        self.value.as_str().ok_or_else(|| self.invalid(expected))
    }

    /// The sequence's items; `null` reads as no items, as serde_yaml reads it.
    fn items(self, expected: &dyn de::Expected) -> Result<Items<'a>, Error> {
        match self.value {
            Value::Sequence(items) => Ok(Items { items: items.iter().enumerate(), parent: self }),
            Value::Null => Ok(Items { items: [].iter().enumerate(), parent: self }),
            _ => Err(self.invalid(expected)),
        }
    }

    /// The mapping's entries (`null` reads as none, as serde_yaml reads it); with `fields`, each
    /// key that is not one of them is recorded as unknown (its value is skipped by the type), so
    /// every misspelling is reported at once.
    fn entries(self, expected: &dyn de::Expected, fields: Option<&[&str]>) -> Result<Entries<'a>, Error> {
        static NONE: LazyLock<Mapping> = LazyLock::new(Mapping::new);
        let entries = match self.value {
            Value::Mapping(entries) => entries,
            Value::Null => &NONE,
            _ => return Err(self.invalid(expected)),
        };
        // A key that is not a string is the type's own error, when it reads the key as a name.
        if let Some(fields) = fields {
            for key in entries.keys().filter_map(Value::as_str).filter(|k| !fields.contains(k)) {
                self.unknown.borrow_mut().push(Path::Key(&self.path, key).to_string());
            }
        }
        Ok(Entries { entries: entries.iter(), value: None, parent: self })
    }
}

/// `Deserializer` methods that each call `$to` with the visitor.
macro_rules! forward {
    ($to:ident: $($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.$to(visitor)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Reader<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (None, Some(i), _) => visitor.visit_i64(i),
                (None, None, Some(f)) => visitor.visit_f64(f),
                _ => Err(self.invalid(&visitor)),
            },
            Value::String(s) => visitor.visit_str(s),
            Value::Sequence(_) => visitor.visit_seq(self.items(&"a sequence")?),
            Value::Mapping(_) => visitor.visit_map(self.entries(&"a mapping", None)?),
            Value::Tagged(_) => Err(self.invalid(&visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let entries = self.entries(&visitor, None)?;
        visitor.visit_map(entries)
    }

    /// A map whose keys must each be one of `fields` (see [`Reader::entries`]).
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let entries = self.entries(&visitor, Some(fields))?;
        visitor.visit_map(entries)
    }

    /// A unit variant, written as its name: the only enums the objects hold.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let name = self.str(&visitor)?;
        visitor.visit_enum::<StrDeserializer<'_, Error>>(name.into_deserializer())
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    // What a type asks for is all it is offered: each of these calls one `visit_` method, where
    // `deserialize_any` would compile every one of them for each of the types' field-name readers.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let s = self.str(&visitor)?;
        visitor.visit_str(s)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            _ => Err(self.invalid(&visitor)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let items = self.items(&visitor)?;
        visitor.visit_seq(items)
    }

    forward! { deserialize_str: deserialize_string deserialize_identifier deserialize_char }
    forward! { number: deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128 }
    forward! { number: deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128 }
    forward! { number: deserialize_f32 deserialize_f64 }
    forward_to_deserialize_any! { bytes byte_buf unit unit_struct tuple tuple_struct }
}

impl Reader<'_> {
    fn number<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Number(_) => de::Deserializer::deserialize_any(self, visitor),
            _ => Err(self.invalid(&visitor)),
        }
    }
}

/// The entries of a mapping, read in their order.
struct Entries<'a> {
    entries: serde_yaml::mapping::Iter<'a>,
    value: Option<(&'a str, &'a Value)>,
    parent: Reader<'a>,
}

impl<'a> Entries<'a> {
    /// The next key to read (at the mapping's own path); its value is kept for [`Entries::value`].
    fn key(&mut self) -> Option<Reader<'a>> {
        let (key, value) = self.entries.next()?;
        self.value = Some((key.as_str().unwrap_or_default(), value));
        Some(Reader { value: untagged(key), ..self.parent })
    }

    /// The value of the key read last, at its path.
    fn value(&mut self) -> Reader<'_> {
        let (key, value) = self.value.take().expect("serde asks for a value after its key");
        Reader { value: untagged(value), path: Path::Key(&self.parent.path, key), unknown: self.parent.unknown }
    }
}

impl<'de> de::MapAccess<'de> for Entries<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        self.key().map(|key| seed.deserialize(key).map_err(|e| e.at(&key.path))).transpose()
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        let value = self.value();
        seed.deserialize(value).map_err(|e| e.at(&value.path))
    }
}

/// The items of a sequence, read in their order.
struct Items<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
    parent: Reader<'a>,
}

impl<'de> de::SeqAccess<'de> for Items<'_> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        let Some((index, value)) = self.items.next() else {
            return Ok(None);
        };
        let path = Path::Index(&self.parent.path, index);
        seed.deserialize(Reader { value: untagged(value), path, unknown: self.parent.unknown })
            .map(Some)
            .map_err(|e| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

#[cfg(test)]
mod tests {
    use super::strict;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use serde_yaml::Value;

    const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels:
    any.example/key: any value
spec:
  replicas: 2
  selector:
    matchLabels:
      app: api
  strategy:
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: api
    spec:
      terminationGracePeriodSeconds: null
      containers:
      - name: api
        image: example/api:1.0.0
        resources:
          limits:
            cpu: 500m
            memory: 256Mi
          requests:
            cpu: 1
";

    fn read<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
        strict(&serde_yaml::from_str::<Value>(text).unwrap())
    }

    /// What k8s-openapi reads in its own way comes through: free maps (labels), `IntOrString` in
    /// both forms, a `Quantity` written as a number, a null optional field.
    #[test]
    fn a_valid_object_reads_with_every_value() {
        let d: Deployment = read(DEPLOYMENT).unwrap();
        let spec = d.spec.unwrap();
        assert_eq!(spec.replicas, Some(2));
        assert_eq!(d.metadata.labels.unwrap()["any.example/key"], "any value");
        let rolling = spec.strategy.unwrap().rolling_update.unwrap();
        assert_eq!(rolling.max_surge, Some(IntOrString::String("25%".into())));
        assert_eq!(rolling.max_unavailable, Some(IntOrString::Int(0)));
        let pod = spec.template.spec.unwrap();
        assert_eq!(pod.termination_grace_period_seconds, None);
        let resources = pod.containers[0].resources.clone().unwrap();
        assert_eq!(resources.limits.unwrap()["memory"], Quantity("256Mi".into()));
        assert_eq!(resources.requests.unwrap()["cpu"], Quantity("1".into()));
    }

    /// Every unknown field, at any depth (a list's item, an optional struct), is named by its path
    /// in one error; the object's name leads it.
    #[test]
    fn every_unknown_field_is_named_by_its_path() {
        let misspelt = DEPLOYMENT
            .replacen("kind: Deployment\n", "kind: Deployment\nkinds: Deployment\n", 1)
            .replacen("  name: api\n", "  name: api\n  namespaces: default\n", 1)
            .replacen("  replicas: 2\n", "  replicass: 2\n", 1)
            .replacen("        image: example", "        imagePullPolicyy: Always\n        image: example", 1)
            .replacen("      maxSurge", "      maxSurgee: 1\n      maxSurge", 1);
        let error = read::<Deployment>(&misspelt).unwrap_err();
        assert_eq!(
            error,
            "api: unknown field kinds, metadata.namespaces, spec.replicass, spec.strategy.rollingUpdate.maxSurgee, \
             spec.template.spec.containers.0.imagePullPolicyy"
        );
    }

    /// A value of the wrong type is an error at its path.
    #[test]
    fn a_value_of_the_wrong_type_names_its_path() {
        let error = read::<Deployment>(&DEPLOYMENT.replacen("replicas: 2", "replicas: two", 1)).unwrap_err();
        assert_eq!(error, "api: spec.replicas: invalid type: string \"two\", expected i32");
        let error =
            read::<Deployment>(&DEPLOYMENT.replacen("      - name: api\n", "      - name: [api]\n", 1)).unwrap_err();
        assert_eq!(error, "api: spec.template.spec.containers.0.name: invalid type: sequence, expected a string");
        let error =
            read::<Deployment>(&DEPLOYMENT.replacen("  selector:\n", "  selector: all\n  other:\n", 1)).unwrap_err();
        assert!(error.starts_with("api: spec.selector: invalid type: string \"all\""), "{error}");
        let error = read::<Deployment>(&DEPLOYMENT.replacen("  replicas: 2\n", "  1: 2\n", 1)).unwrap_err();
        assert_eq!(error, "api: spec: invalid type: integer `1`, expected field identifier");
    }

    /// The type's own checks still run: another kind's `apiVersion` is refused, by the type.
    #[test]
    fn another_kind_is_refused() {
        let error = read::<HorizontalPodAutoscaler>(DEPLOYMENT).unwrap_err();
        assert_eq!(error, "api: invalid value: string \"apps/v1\", expected autoscaling/v2");
    }

    /// `null` where a list or a map is asked for reads as an empty one, and a tag is read through
    /// (as serde_yaml reads both).
    #[test]
    fn null_is_empty_and_a_tag_is_read_through() {
        use std::collections::BTreeMap;
        let lists: BTreeMap<String, Vec<String>> = read("a: ~\nb: [x]\n").unwrap();
        assert_eq!(lists, BTreeMap::from([("a".into(), vec![]), ("b".into(), vec!["x".into()])]));
        let maps: BTreeMap<String, BTreeMap<String, String>> = read("a: null\n").unwrap();
        assert_eq!(maps, BTreeMap::from([("a".into(), BTreeMap::new())]));
        let tagged: BTreeMap<String, Vec<u16>> = read("a: !list [!n 1, 2]\n").unwrap();
        assert_eq!(tagged, BTreeMap::from([("a".into(), vec![1, 2])]));
    }
}
