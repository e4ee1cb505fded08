//! Virtual machines (the jump host): write-only admin password and custom data (stored as hashes),
//! immutable admin user name and custom data, NIC attachment, system-assigned identity.

use serde_json::{Value, json};

use super::netmisc::NIC_TYPE;
use super::vnet::invalid_reference;
use super::{name_rule, versions};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::spec::{BASE, DeleteStyle, Effect, Hooks, NameRule, PutCx, PutStyle, Spec, secs};
use crate::state::{Resource, State};

pub(crate) const VM_TYPE: &str = "Microsoft.Compute/virtualMachines";

static VM_NAME: NameRule = name_rule!(
    1,
    64,
    r"^[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9_])?$",
    "InvalidResourceName",
    "Linux VM names are 1-64 letters, digits, '.', '-' or '_', starting with a letter or digit and not ending with '.' or '-'."
);

pub(crate) static VM: Spec = Spec {
    type_name: VM_TYPE,
    api_versions: versions::COMPUTE,
    name: Some(&VM_NAME),
    create: PutStyle::AsyncOp { status: 201, also_location: false },
    update: PutStyle::AsyncOp { status: 200, also_location: false },
    delete: DeleteStyle::Accepted { async_header: true, done: 200 },
    durations: secs(120.0, 60.0, 90.0),
    conflict_code: "OperationNotAllowed",
    secrets: &["properties.osProfile.adminPassword", "properties.osProfile.customData"],
    readonly: &["properties.vmId", "properties.instanceView", "properties.timeCreated", "identity.principalId", "identity.tenantId"],
    hooks: &VmHooks,
    ..BASE
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&VM]
}

const RESERVED_USERS: &[&str] = &["admin", "administrator", "root", "guest", "user", "test", "sys", "support", "owner", "adm", "console"];

fn not_allowed(prop: &str) -> ArmError {
    ArmError::conflict("PropertyChangeNotAllowed", format!("Changing property '{prop}' is not allowed.")).with_target(prop)
}

struct VmHooks;

impl Hooks for VmHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let owner = cx.id.clone();
        if cx.prop_str("hardwareProfile.vmSize").is_none() {
            return Err(ArmError::bad_request("InvalidParameter", "Required parameter 'hardwareProfile.vmSize' is missing (null).")
                .with_target("hardwareProfile.vmSize"));
        }
        let user = cx.prop_str("osProfile.adminUsername").map(str::to_string);
        let raw_custom = jpath::get_str(cx.raw, "properties.osProfile.customData").map(str::to_string);
        match cx.existing {
            None => {
                let Some(user) = user else {
                    return Err(ArmError::bad_request(
                        "InvalidParameter",
                        "Required parameter 'osProfile.adminUsername' is missing (null).",
                    )
                    .with_target("osProfile.adminUsername"));
                };
                if RESERVED_USERS.contains(&user.to_ascii_lowercase().as_str()) {
                    return Err(ArmError::bad_request("InvalidParameter", "The Admin Username specified is not allowed.")
                        .with_target("adminUsername"));
                }
                let no_password =
                    cx.prop("osProfile.linuxConfiguration.disablePasswordAuthentication").and_then(Value::as_bool) == Some(true);
                let keys = cx.prop("osProfile.linuxConfiguration.ssh.publicKeys").and_then(Value::as_array).is_some_and(|k| !k.is_empty());
                let password = jpath::get_str(cx.raw, "properties.osProfile.adminPassword").is_some();
                if !keys && (no_password || !password) {
                    return Err(ArmError::bad_request(
                        "InvalidParameter",
                        "Authentication using either SSH or by user name and password must be enabled in Linux profile.",
                    )
                    .with_target("linuxConfiguration"));
                }
                if let Some(cd) = &raw_custom {
                    use base64::Engine;
                    let decoded = base64::engine::general_purpose::STANDARD.decode(cd).map_err(|_| {
                        ArmError::bad_request("InvalidParameter", "Custom data in OSProfile must be in Base64 encoding.")
                            .with_target("customData")
                    })?;
                    if decoded.len() > 64 * 1024 {
                        return Err(ArmError::bad_request(
                            "InvalidParameter",
                            "Custom data in OSProfile must be at most 64 KB once decoded.",
                        )
                        .with_target("customData"));
                    }
                }
            }
            Some(e) => {
                let old = e.prop_str("osProfile.adminUsername");
                if user.is_some() && user.as_deref() != old {
                    return Err(not_allowed("osProfile.adminUsername"));
                }
                if let (Some(cd), Some(old)) = (&raw_custom, e.secrets.get("properties.osProfile.customData"))
                    && &crate::ids::sha256_hex(cd.as_bytes()) != old
                {
                    return Err(not_allowed("customData"));
                }
                if user.is_none()
                    && let Some(o) = old
                {
                    jpath::set(&mut cx.body, "properties.osProfile.adminUsername", json!(o));
                }
            }
        }
        jpath::default(&mut cx.body, "properties.osProfile.computerName", json!(cx.name.clone()));
        for (k, v) in [
            ("osProfile.secrets", json!([])),
            ("osProfile.allowExtensionOperations", json!(true)),
            ("osProfile.requireGuestProvisionSignal", json!(true)),
            ("osProfile.linuxConfiguration.provisionVMAgent", json!(true)),
            ("osProfile.linuxConfiguration.patchSettings", json!({"patchMode": "ImageDefault", "assessmentMode": "ImageDefault"})),
            ("storageProfile.dataDisks", json!([])),
            ("storageProfile.osDisk.osType", json!("Linux")),
            ("storageProfile.osDisk.caching", json!("ReadWrite")),
            ("storageProfile.osDisk.createOption", json!("FromImage")),
            ("storageProfile.osDisk.deleteOption", json!("Detach")),
            ("storageProfile.osDisk.diskSizeGB", json!(30)),
        ] {
            jpath::default(&mut cx.body, &format!("properties.{k}"), v);
        }
        let disk = format!("{}_OsDisk_1_{}", cx.name, cx.hex("osdisk", 32));
        cx.keep("properties.storageProfile.osDisk.name", |_| json!(disk));
        let disk_name = cx.prop_str("storageProfile.osDisk.name").unwrap_or("").to_string();
        let rg = cx.rg.clone().unwrap_or_default().to_ascii_uppercase();
        jpath::set(
            &mut cx.body,
            "properties.storageProfile.osDisk.managedDisk.id",
            json!(format!("/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.Compute/disks/{disk_name}", cx.sub)),
        );
        if let Some(v) = cx.prop_str("storageProfile.imageReference.version").map(str::to_string) {
            let exact = if v == "latest" { "1.0.20260101".to_string() } else { v };
            jpath::set(&mut cx.body, "properties.storageProfile.imageReference.exactVersion", json!(exact));
        }
        let nics = cx.prop("networkProfile.networkInterfaces").and_then(Value::as_array).cloned().unwrap_or_default();
        if nics.is_empty() {
            return Err(ArmError::bad_request("InvalidParameter", "The virtual machine needs at least one network interface.")
                .with_target("networkProfile.networkInterfaces"));
        }
        for n in &nics {
            let id = n.get("id").and_then(Value::as_str).unwrap_or("");
            let key = crate::armpath::key_of(id);
            let Some(nic) = cx.st.get(&key).filter(|r| r.is(NIC_TYPE)) else {
                return Err(invalid_reference(id, &owner));
            };
            if let Some(other) = cx.st.referrers(&nic.key()).into_iter().find(|r| r.is(VM_TYPE) && r.key() != cx.key) {
                return Err(ArmError::bad_request(
                    "NicInUse",
                    format!("Network interface {id} is already used by virtual machine {}.", other.id),
                ));
            }
        }
        cx.keep("properties.vmId", |c| json!(c.guid("vmId")));
        let now = crate::clock::rfc3339(cx.now_ms);
        cx.keep("properties.timeCreated", |_| json!(now));
        let identity_type = jpath::get_str(&cx.body, "identity.type").unwrap_or("None").to_string();
        if identity_type.contains("SystemAssigned") {
            cx.keep("identity.principalId", |c| json!(c.guid("systemIdentity")));
            let tenant = cx.tenant().to_string();
            cx.body["identity"]["tenantId"] = json!(tenant);
        }
        if identity_type.contains("UserAssigned") {
            let map = jpath::get(&cx.body, "identity.userAssignedIdentities").and_then(Value::as_object).cloned().unwrap_or_default();
            let mut out = serde_json::Map::new();
            for id in map.keys() {
                let Some(uai) = cx.st.get(&crate::armpath::key_of(id)) else { return Err(invalid_reference(id, &owner)) };
                out.insert(id.clone(), json!({"principalId": uai.prop_str("principalId"), "clientId": uai.prop_str("clientId")}));
            }
            cx.body["identity"]["userAssignedIdentities"] = json!(out);
        }
        Ok(())
    }

    fn render(&self, _st: &State, _cfg: &SimConfig, _res: &Resource, _body: &mut Value) {}

    fn on_delete(&self, _st: &State, _cfg: &SimConfig, _now: i64, res: &Resource) -> Vec<Effect> {
        // NICs attached with deleteOption Delete go with the VM.
        jpath::array(&res.body, "properties.networkProfile.networkInterfaces")
            .iter()
            .filter(|n| jpath::get_str(n, "properties.deleteOption") == Some("Delete"))
            .filter_map(|n| n.get("id").and_then(Value::as_str))
            .map(|id| Effect::Remove { key: crate::armpath::key_of(id) })
            .collect()
    }
}
