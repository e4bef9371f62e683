//! The Kubernetes objects the tree holds, as k8s-openapi types, with their YAML form and a
//! strict reader: an object read back must be of a known kind, and every one of its fields must be
//! one the type knows (a misspelt `imagePullPolicyy` is an error, not silently dropped). The kinds
//! are k8s-openapi types, and the custom resources we write are small types of our own that
//! implement the same traits ([`crate::external_secret`]). The reader is [`crate::strict`].

use k8s_openapi::api::apps::v1::Deployment;
use std::collections::HashMap;

use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, Resource};

use crate::external_secret::{ExternalSecret, SecretStore};
use crate::node::Node;
pub use crate::strict::strict;
use serde::Deserialize;
use serde_yaml::Value;

/// The kinds the tree holds: one line each. `kind` and `apiVersion` come from each type's
/// [`Resource`] implementation (a custom resource implements it too), never from a string here.
macro_rules! kinds {
    ($($kind:ident),* $(,)?) => {
        // Each kind is boxed: a Deployment or a Job is 2.5 KB inline, and every object is moved
        // several times between being built and being held by its environment (a vector's growth,
        // one service's objects joining the rest), which made copying them a tenth of a render.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Object {
            $($kind(Box<$kind>),)*
        }

        $(impl From<$kind> for Object {
            fn from(o: $kind) -> Object {
                Object::$kind(Box::new(o))
            }
        })*

        impl Object {
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Object::$kind(_) => <$kind as Resource>::KIND,)*
                }
            }

            /// The API group, empty for the core group (`v1`).
            pub fn group(&self) -> &'static str {
                match self {
                    $(Object::$kind(_) => <$kind as Resource>::GROUP,)*
                }
            }

            pub fn version(&self) -> &'static str {
                match self {
                    $(Object::$kind(_) => <$kind as Resource>::VERSION,)*
                }
            }

            pub fn api_version(&self) -> &'static str {
                match self {
                    $(Object::$kind(_) => <$kind as Resource>::API_VERSION,)*
                }
            }

            pub fn metadata(&self) -> &ObjectMeta {
                match self {
                    $(Object::$kind(o) => o.metadata(),)*
                }
            }

            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self {
                    $(Object::$kind(o) => o.metadata_mut(),)*
                }
            }

            /// The object as a YAML value, `apiVersion` and `kind` included (the type writes them).
            /// Made from [`Object::to_node`]: each kind is serialised by one serializer only,
            /// which keeps the crate's compile time down (a k8s-openapi type's `Serialize` is large).
            pub fn to_value(&self) -> Value {
                serde_yaml::to_value(self.to_node()).expect("a tree serialises to YAML")
            }

            /// The object as a [`Node`] tree, `apiVersion` and `kind` included: what the render
            /// derives patches from and writes.
            pub fn to_node(&self) -> Node {
                match self {
                    $(Object::$kind(o) => Node::of(o),)*
                }
            }

            /// Reads one object strictly: known `apiVersion`/`kind`, no unknown field anywhere.
            pub fn from_value(value: &Value) -> Result<Object, String> {
                let api_version = value.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_owned();
                let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned();
                $(if (api_version.as_str(), kind.as_str()) == (<$kind as Resource>::API_VERSION, <$kind as Resource>::KIND) {
                    return strict(value).map(Object::$kind).map_err(|e| format!("{kind}: {e}"));
                })*
                Err(format!("{kind}: unexpected object of apiVersion {api_version:?} and kind {kind:?}"))
            }
        }
    };
}

kinds![
    Namespace,
    ServiceAccount,
    ConfigMap,
    Service,
    Deployment,
    Job,
    HorizontalPodAutoscaler,
    PodDisruptionBudget,
    NetworkPolicy,
    Ingress,
    SecretStore,
    ExternalSecret,
];

/// `Kind` of a type, for matching an [`Object`] against it: `o.kind() == kind::<Deployment>()`.
pub fn kind<T: Resource>() -> &'static str {
    T::KIND
}

/// An environment's objects with those others name found in one pass: the
/// HorizontalPodAutoscaler that scales each Deployment, and each ConfigMap. Capacity, the
/// connection budget and the lint all read the objects through one. A reader that visits
/// every Deployment looks them up here, so its work grows with the objects, not with their square
/// (nine hundred services are nine thousand objects).
pub struct Lookup<'a> {
    objects: &'a [Object],
    hpas: HashMap<(Option<&'a str>, &'a str), &'a HorizontalPodAutoscalerSpec>,
    config_maps: HashMap<(Option<&'a str>, &'a str), &'a ConfigMap>,
}

impl<'a> Lookup<'a> {
    /// Indexes `objects`; where two claim the same key, the first counts (as a scan finds it).
    pub fn new(objects: &'a [Object]) -> Lookup<'a> {
        let (mut hpas, mut config_maps) = (HashMap::new(), HashMap::new());
        for o in objects {
            match o {
                Object::HorizontalPodAutoscaler(h) => {
                    let Some(spec) = h.spec.as_ref().filter(|s| s.scale_target_ref.kind == Deployment::KIND) else {
                        continue;
                    };
                    let key = (h.metadata.namespace.as_deref(), spec.scale_target_ref.name.as_str());
                    hpas.entry(key).or_insert(spec);
                }
                Object::ConfigMap(c) => {
                    let key = (c.metadata.namespace.as_deref(), c.metadata.name.as_deref().unwrap_or_default());
                    config_maps.entry(key).or_insert(&**c);
                }
                _ => {}
            }
        }
        Lookup { objects, hpas, config_maps }
    }

    /// The objects indexed.
    pub fn objects(&self) -> &'a [Object] {
        self.objects
    }

    /// The spec of the HorizontalPodAutoscaler that scales Deployment `d` (same namespace,
    /// `scaleTargetRef` naming it), if one does.
    pub fn hpa(&self, d: &Deployment) -> Option<&'a HorizontalPodAutoscalerSpec> {
        let name = d.metadata.name.as_deref().unwrap_or_default();
        self.hpas.get(&(d.metadata.namespace.as_deref(), name)).copied()
    }

    /// The ConfigMap `name` of `namespace`.
    pub fn config_map(&self, namespace: Option<&str>, name: &str) -> Option<&'a ConfigMap> {
        self.config_maps.get(&(namespace, name)).copied()
    }
}

/// Whether the pod's required anti-affinity keeps its pods one a node (on the hostname).
pub fn one_pod_per_node(pod: &k8s_openapi::api::core::v1::PodSpec) -> bool {
    pod.affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref())
        .is_some_and(|terms| terms.iter().any(|t| t.topology_key == HOSTNAME_KEY))
}

/// The well-known label of a node's name, which anti-affinity spreads over.
pub const HOSTNAME_KEY: &str = "kubernetes.io/hostname";

impl Object {
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// `Kind/name`, as kubectl names objects.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }
}

/// Reads every document of a multi-document YAML text strictly (empty documents are skipped).
pub fn parse_documents(text: &str) -> Result<Vec<Object>, String> {
    let mut objects = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(document).map_err(|e| e.to_string())?;
        if !value.is_null() {
            objects.push(Object::from_value(&value)?);
        }
    }
    Ok(objects)
}
