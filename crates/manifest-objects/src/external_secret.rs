//! The External Secrets Operator's `ExternalSecret` and namespaced `SecretStore`
//! (`external-secrets.io/v1`) as typed values, so that they sit in [`crate::object::Object`]
//! beside the k8s-openapi kinds: `kind` and `apiVersion` come from their [`Resource`]
//! implementations (one macro, `custom_resource!`, writes them and the (de)serialisation for
//! both), are written by the type and checked when read, and an unknown field is an error through
//! [`crate::object::strict`], as for every other kind.
//!
//! Hand-written rather than taken from a crate: kube's `CustomResource` derive would bring
//! kube-core, kube-derive, schemars and their proc-macro tree into a library that today needs
//! k8s-openapi and serde only, for one small object. The type holds the fields the overlays write
//! (`refreshInterval`, `secretStoreRef`, `target`, `dataFrom[].extract.key`) and nothing else:
//! a field of ESO's API that we never write (`template`, `find`, `data`, …) is unknown here, so
//! reading it back is an error rather than a value silently dropped. The closed sets of the API
//! (store kind, creation and deletion policies, the AWS service) are enums with ESO's spelling. Tests check the
//! rendered objects against ESO's own schema of the API.
//!
//! A leaf: it imports nothing of the crate.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, NamespaceResourceScope, Resource};
use serde::de::{self, Deserializer, Unexpected};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_derive::{Deserialize, Serialize};

/// Asks the External Secrets Operator to keep a Secret filled from an external store: ESO reads
/// the keys of `spec.dataFrom` from the store of `spec.secretStoreRef` every `refreshInterval`
/// and writes them into the Secret `spec.target.name`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalSecret {
    pub metadata: ObjectMeta,
    pub spec: ExternalSecretSpec,
}

/// The [`Resource`] and [`Metadata`] of a custom resource `$kind { metadata, spec: $spec }`, and
/// its YAML form as the k8s-openapi types have it: written `apiVersion`, `kind`, `metadata`,
/// `spec`; read back with an `apiVersion` or `kind` other than the type's refused. Unknown fields
/// are not refused here but reported by [`crate::object::strict`], which names them by their path,
/// as for the k8s-openapi kinds.
macro_rules! custom_resource {
    ($kind:ident, $spec:ty, $plural:literal) => {
        impl Resource for $kind {
            const API_VERSION: &'static str = "external-secrets.io/v1";
            const GROUP: &'static str = "external-secrets.io";
            const KIND: &'static str = stringify!($kind);
            const VERSION: &'static str = "v1";
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = NamespaceResourceScope;
        }

        impl Metadata for $kind {
            type Ty = ObjectMeta;

            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl Serialize for $kind {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut state = serializer.serialize_struct(Self::KIND, 4)?;
                state.serialize_field("apiVersion", Self::API_VERSION)?;
                state.serialize_field("kind", Self::KIND)?;
                state.serialize_field("metadata", &self.metadata)?;
                state.serialize_field("spec", &self.spec)?;
                state.end()
            }
        }

        impl<'de> Deserialize<'de> for $kind {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct Written {
                    api_version: String,
                    kind: String,
                    metadata: ObjectMeta,
                    spec: $spec,
                }
                let w = Written::deserialize(deserializer)?;
                if w.api_version != Self::API_VERSION {
                    return Err(de::Error::invalid_value(Unexpected::Str(&w.api_version), &Self::API_VERSION));
                }
                if w.kind != Self::KIND {
                    return Err(de::Error::invalid_value(Unexpected::Str(&w.kind), &Self::KIND));
                }
                Ok($kind { metadata: w.metadata, spec: w.spec })
            }
        }
    };
}

custom_resource!(ExternalSecret, ExternalSecretSpec, "externalsecrets");

/// The part of ESO's `ExternalSecretSpec` the overlays write, in the order the spec page reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    /// How often ESO reads the store again, a Go duration (`1h`): a rotated value reaches the
    /// Secret within it.
    pub refresh_interval: String,
    pub secret_store_ref: SecretStoreRef,
    pub target: Target,
    pub data_from: Vec<DataFrom>,
}

/// The store ESO reads from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretStoreRef {
    pub kind: SecretStoreKind,
    pub name: String,
}

/// A store of the ExternalSecret's own namespace, or one of the whole cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecretStoreKind {
    SecretStore,
    ClusterSecretStore,
}

/// The Secret ESO writes, and what becomes of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub name: String,
    pub creation_policy: CreationPolicy,
    pub deletion_policy: DeletionPolicy,
}

/// Who owns the Secret ESO writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreationPolicy {
    /// ESO creates it and owns it: deleting the ExternalSecret deletes the Secret.
    Owner,
    /// ESO creates it and leaves it when the ExternalSecret goes.
    Orphan,
    /// ESO only merges into a Secret that exists already.
    Merge,
    /// ESO writes no Secret.
    None,
}

/// What ESO does to the Secret when the key disappears from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeletionPolicy {
    Delete,
    Merge,
    /// Keeps the last values: a store outage or a deleted key does not empty a running service's
    /// Secret.
    Retain,
}

/// One source of the Secret's keys: here always a whole store entry, extracted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFrom {
    pub extract: Extract,
}

/// A store entry whose keys (a JSON object in AWS Secrets Manager) all become keys of the Secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extract {
    pub key: String,
}

impl ExternalSecret {
    /// The Secret this ExternalSecret makes ESO write.
    pub fn produces(&self) -> &str {
        &self.spec.target.name
    }
}

/// A store of external secrets that serves the ExternalSecrets of its own namespace only.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretStore {
    pub metadata: ObjectMeta,
    pub spec: SecretStoreSpec,
}

custom_resource!(SecretStore, SecretStoreSpec, "secretstores");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretStoreSpec {
    pub provider: Provider,
}

/// The one provider the overlays use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub aws: AwsProvider,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwsProvider {
    pub service: AwsService,
    pub region: String,
    pub auth: AwsAuth,
}

/// Which AWS service holds the secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AwsService {
    SecretsManager,
    ParameterStore,
}

/// Authenticates with a ServiceAccount's token (IRSA): no static credentials anywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwsAuth {
    pub jwt: JwtAuth,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtAuth {
    pub service_account_ref: ServiceAccountRef,
}

/// A ServiceAccount of the store's own namespace, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceAccountRef {
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::strict;

    const WRITTEN: &str = "\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: auth-service-secret
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: ClusterSecretStore
    name: aws-secrets-manager
  target:
    name: auth-service-secret
    creationPolicy: Owner
    deletionPolicy: Retain
  dataFrom:
  - extract:
      key: lomash-wood/production/auth-service
";

    fn value(text: &str) -> serde_yaml::Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn reads_back_what_it_writes() {
        let read: ExternalSecret = strict(&value(WRITTEN)).unwrap();
        assert_eq!(read.spec.secret_store_ref.kind, SecretStoreKind::ClusterSecretStore);
        assert_eq!(read.spec.target.creation_policy, CreationPolicy::Owner);
        assert_eq!(read.produces(), "auth-service-secret");
        assert_eq!(serde_yaml::to_value(&read).unwrap(), value(WRITTEN));
    }

    /// Each a one-line change of [`WRITTEN`] that must not read: the error names what is wrong.
    #[test]
    fn refuses_unknown_fields_values_and_other_kinds() {
        let cases = [
            (
                "    deletionPolicy: Retain\n",
                "    deletionPolicy: Retain\n    immutable: true\n",
                "spec.target.immutable",
            ),
            ("  refreshInterval: 1h\n", "  refreshInterval: 1h\n  refreshPolicy: Periodic\n", "spec.refreshPolicy"),
            ("kind: ClusterSecretStore", "kind: ClusterStore", "ClusterStore"),
            ("creationPolicy: Owner", "creationPolicy: owner", "owner"),
            ("deletionPolicy: Retain", "deletionPolicy: Keep", "Keep"),
            ("  - extract:\n", "  - find:\n      path: lomash-wood\n    extract:\n", "spec.dataFrom.0.find"),
            ("apiVersion: external-secrets.io/v1\n", "apiVersion: external-secrets.io/v1beta1\n", "v1beta1"),
            ("kind: ExternalSecret\n", "kind: ClusterExternalSecret\n", "ClusterExternalSecret"),
        ];
        for (from, to, named) in cases {
            assert!(WRITTEN.contains(from), "{from:?}");
            let error = strict::<ExternalSecret>(&value(&WRITTEN.replacen(from, to, 1))).unwrap_err();
            assert!(error.contains(named), "{to:?}: {error}");
        }
    }

    const STORE: &str = "\
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: aws-secrets-manager
spec:
  provider:
    aws:
      service: SecretsManager
      region: eu-west-2
      auth:
        jwt:
          serviceAccountRef:
            name: external-secrets
";

    #[test]
    fn a_store_reads_back_what_it_writes() {
        let read: SecretStore = strict(&value(STORE)).unwrap();
        assert_eq!(read.spec.provider.aws.service, AwsService::SecretsManager);
        assert_eq!(read.spec.provider.aws.auth.jwt.service_account_ref.name, "external-secrets");
        assert_eq!(serde_yaml::to_value(&read).unwrap(), value(STORE));
    }

    /// Each a one-line change of [`STORE`] that must not read: the error names what is wrong.
    #[test]
    fn a_store_refuses_unknown_fields_values_and_other_kinds() {
        let cases = [
            ("      region: eu-west-2\n", "      region: eu-west-2\n      role: admin\n", "spec.provider.aws.role"),
            ("service: SecretsManager", "service: secretsmanager", "secretsmanager"),
            ("kind: SecretStore", "kind: ClusterSecretStore", "ClusterSecretStore"),
            ("apiVersion: external-secrets.io/v1\n", "apiVersion: external-secrets.io/v1beta1\n", "v1beta1"),
        ];
        for (from, to, named) in cases {
            assert!(STORE.contains(from), "{from:?}");
            let error = strict::<SecretStore>(&value(&STORE.replacen(from, to, 1))).unwrap_err();
            assert!(error.contains(named), "{to:?}: {error}");
        }
    }
}
