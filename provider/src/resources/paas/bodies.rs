//! The ARM body of every object the bundle owns (expand), from the spec
//! with no ARM calls. Apart from `spec.rs` for its size.

use serde_json::{Value as Json, json};
use trench_arm::ResourceId;

use super::spec::{BundleSpec, Target};

fn enabled(b: bool) -> &'static str {
    if b { "Enabled" } else { "Disabled" }
}

impl BundleSpec {
    /// Data resource group.
    pub fn data_rg_body(&self) -> Json {
        json!({"location": self.location, "tags": self.tags})
    }

    /// Registry.
    pub fn acr_body(&self) -> Json {
        json!({
            "location": self.location, "tags": self.tags, "sku": {"name": self.acr.sku},
            "properties": {
                "adminUserEnabled": self.acr.admin_enabled,
                "publicNetworkAccess": enabled(self.acr.public_network_access),
                "anonymousPullEnabled": false,
            }
        })
    }

    /// Vault: RBAC only, reachable through its private endpoint; trusted
    /// Azure services may bypass the firewall. Purge protection is only
    /// ever sent as true (ARM refuses false once set, and on create).
    pub fn key_vault_body(&self, tenant: &str) -> Json {
        let mut b = json!({
            "location": self.location, "tags": self.tags,
            "properties": {
                "tenantId": tenant,
                "sku": {"family": "A", "name": self.kv.sku},
                "enableRbacAuthorization": true,
                "accessPolicies": [],
                "publicNetworkAccess": enabled(self.kv.public_network_access),
                "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []},
                "enableSoftDelete": true,
                "softDeleteRetentionInDays": self.kv.retention_days,
            }
        });
        if self.kv.purge_protection {
            b["properties"]["enablePurgeProtection"] = json!(true);
        }
        b
    }

    /// PostgreSQL server in private-endpoint mode; the password only when
    /// it is to be set (create, or a new password version).
    pub fn postgresql_body(&self, password: Option<&str>) -> Json {
        let mut b = json!({
            "location": self.location, "tags": self.tags,
            "sku": {"name": self.pg.sku_name, "tier": self.pg.tier()},
            "properties": {
                "version": self.pg.version,
                "administratorLogin": self.pg.login,
                "storage": {"storageSizeGB": self.pg.storage_gb, "autoGrow": enabled(self.pg.auto_grow)},
                "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"},
                "highAvailability": {"mode": "Disabled"},
                "network": {"publicNetworkAccess": "Disabled"},
                "authConfig": {"activeDirectoryAuth": "Disabled", "passwordAuth": "Enabled"},
            }
        });
        if let Some(p) = password {
            b["properties"]["administratorLoginPassword"] = json!(p);
        }
        b
    }

    /// A database.
    pub fn database_body() -> Json {
        json!({"properties": {"charset": "UTF8", "collation": "en_US.utf8"}})
    }

    /// Service Bus namespace: Entra ID only (no SAS keys), TLS 1.2.
    pub fn service_bus_body(&self) -> Json {
        json!({
            "location": self.location, "tags": self.tags, "sku": {"name": self.sb.sku, "tier": self.sb.sku},
            "properties": {"minimumTlsVersion": "1.2", "publicNetworkAccess": "Enabled", "disableLocalAuth": true}
        })
    }

    /// A queue.
    pub fn queue_body() -> Json {
        json!({"properties": {"maxDeliveryCount": 10, "lockDuration": "PT1M", "deadLetteringOnMessageExpiration": true}})
    }

    /// The addresses Service Bus admits: the firewall's public IP (bare)
    /// and the admin CIDRs (with a prefix length), which is also how a
    /// read tells them apart.
    pub fn allowed_ips(&self) -> Vec<String> {
        self.firewall_public_ip.iter().cloned().chain(self.admin_cidrs.iter().cloned()).collect()
    }

    /// The namespace's network rule set.
    pub fn network_rules_body(&self) -> Json {
        let ip_rules: Vec<Json> = self.allowed_ips().iter().map(|ip| json!({"ipMask": ip, "action": "Allow"})).collect();
        json!({
            "properties": {
                "defaultAction": self.sb.default_action,
                "publicNetworkAccess": "Enabled",
                "trustedServiceAccessEnabled": true,
                "ipRules": ip_rules,
                "virtualNetworkRules": [],
            }
        })
    }

    /// Log Analytics workspace.
    pub fn log_analytics_body(&self) -> Json {
        json!({
            "location": self.location, "tags": self.tags,
            "properties": {
                "sku": {"name": "PerGB2018"}, "retentionInDays": self.law_retention_days,
                "publicNetworkAccessForIngestion": "Enabled", "publicNetworkAccessForQuery": "Enabled",
            }
        })
    }

    /// State storage account: Entra ID only (no shared keys), no public
    /// blobs, TLS 1.2. The endpoint stays public so CI runners reach it.
    pub fn storage_account_body(&self) -> Json {
        json!({
            "location": self.location, "tags": self.tags, "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
            "properties": {
                "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": false, "allowSharedKeyAccess": false,
                "supportsHttpsTrafficOnly": true, "publicNetworkAccess": "Enabled",
            }
        })
    }

    /// State container.
    pub fn container_body() -> Json {
        json!({"properties": {"publicAccess": "None"}})
    }

    /// Cosmos DB account: private endpoint only, Entra ID only.
    pub fn cosmos_body(&self) -> Json {
        json!({
            "location": self.location, "tags": self.tags, "kind": "GlobalDocumentDB",
            "properties": {
                "databaseAccountOfferType": "Standard",
                "locations": [{"locationName": self.location, "failoverPriority": 0, "isZoneRedundant": false}],
                "consistencyPolicy": {"defaultConsistencyLevel": "Session"},
                "publicNetworkAccess": "Disabled", "disableLocalAuth": true,
            }
        })
    }

    /// A private endpoint to a target, with a predictable NIC name.
    pub fn endpoint_body(&self, t: Target) -> Json {
        let id = self.ids.endpoint_id(t);
        json!({
            "location": self.location, "tags": self.tags,
            "properties": {
                "subnet": {"id": self.endpoint_subnet.to_string()},
                "customNetworkInterfaceName": format!("{}-nic", id.name()),
                "privateLinkServiceConnections": [{"name": id.name(), "properties": {
                    "privateLinkServiceId": self.ids.target_id(t).to_string(), "groupIds": [t.group()]}}],
            }
        })
    }

    /// A private DNS zone (always `global`).
    pub fn zone_body(&self) -> Json {
        json!({"location": "global", "tags": self.tags})
    }

    /// A zone's link to a VNet (resolution only, no auto-registration).
    pub fn link_body(&self, vnet: &ResourceId) -> Json {
        json!({"location": "global", "tags": self.tags, "properties": {"virtualNetwork": {"id": vnet.to_string()}, "registrationEnabled": false}})
    }

    /// An A record pointing at an endpoint's private IP.
    pub fn record_body(ip: &str) -> Json {
        json!({"properties": {"ttl": 300, "aRecords": [{"ipv4Address": ip}]}})
    }
}
