//! The Kubernetes objects the tree holds, as k8s-openapi types, with their YAML form and a
//! strict reader: an object read back must be of a known kind, and every one of its fields must be
//! one the type knows (a misspelt `imagePullPolicyy` is an error, not silently dropped).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml::Value;

// Objects are built a few dozen at a time and compared field by field: boxing the large
// variants would buy nothing but noise at every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    ConfigMap(ConfigMap),
    Service(Service),
    Deployment(Deployment),
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    PodDisruptionBudget(PodDisruptionBudget),
}

impl Object {
    pub fn kind(&self) -> &'static str {
        match self {
            Object::ConfigMap(_) => "ConfigMap",
            Object::Service(_) => "Service",
            Object::Deployment(_) => "Deployment",
            Object::HorizontalPodAutoscaler(_) => "HorizontalPodAutoscaler",
            Object::PodDisruptionBudget(_) => "PodDisruptionBudget",
        }
    }

    pub fn metadata(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        match self {
            Object::ConfigMap(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::HorizontalPodAutoscaler(o) => &o.metadata,
            Object::PodDisruptionBudget(o) => &o.metadata,
        }
    }

    pub fn metadata_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        match self {
            Object::ConfigMap(o) => &mut o.metadata,
            Object::Service(o) => &mut o.metadata,
            Object::Deployment(o) => &mut o.metadata,
            Object::HorizontalPodAutoscaler(o) => &mut o.metadata,
            Object::PodDisruptionBudget(o) => &mut o.metadata,
        }
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// `Kind/name`, as kubectl names objects.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }

    /// The object as a YAML value, `apiVersion` and `kind` included (k8s-openapi writes them).
    pub fn to_value(&self) -> Value {
        let value = match self {
            Object::ConfigMap(o) => serde_yaml::to_value(o),
            Object::Service(o) => serde_yaml::to_value(o),
            Object::Deployment(o) => serde_yaml::to_value(o),
            Object::HorizontalPodAutoscaler(o) => serde_yaml::to_value(o),
            Object::PodDisruptionBudget(o) => serde_yaml::to_value(o),
        };
        value.expect("k8s-openapi objects serialise to YAML")
    }

    /// Reads one object strictly: known `apiVersion`/`kind`, no unknown field anywhere.
    pub fn from_value(value: Value) -> Result<Object, String> {
        let api_version = value.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_owned();
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned();
        match (api_version.as_str(), kind.as_str()) {
            ("v1", "ConfigMap") => strict(value).map(Object::ConfigMap),
            ("v1", "Service") => strict(value).map(Object::Service),
            ("apps/v1", "Deployment") => strict(value).map(Object::Deployment),
            ("autoscaling/v2", "HorizontalPodAutoscaler") => strict(value).map(Object::HorizontalPodAutoscaler),
            ("policy/v1", "PodDisruptionBudget") => strict(value).map(Object::PodDisruptionBudget),
            _ => Err(format!("unexpected object of apiVersion {api_version:?} and kind {kind:?}")),
        }
        .map_err(|e| format!("{kind}: {e}"))
    }
}

/// Deserialises `value` into `T`, failing on any field `T` does not know.
pub fn strict<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    let name = value.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).map(str::to_owned);
    let mut unknown = Vec::new();
    let parsed: T = serde_ignored::deserialize(value, |path| unknown.push(path.to_string()))
        .map_err(|e| format!("{}: {e}", name.as_deref().unwrap_or("?")))?;
    if unknown.is_empty() {
        Ok(parsed)
    } else {
        Err(format!("{}: unknown field {}", name.as_deref().unwrap_or("?"), unknown.join(", ")))
    }
}

/// Reads every document of a multi-document YAML text strictly (empty documents are skipped).
pub fn parse_documents(text: &str) -> Result<Vec<Object>, String> {
    let mut objects = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(document).map_err(|e| e.to_string())?;
        if !value.is_null() {
            objects.push(Object::from_value(value)?);
        }
    }
    Ok(objects)
}
