//! Parsing ARM request paths into routes, case-insensitively.

use crate::error::ArmError;

/// One `providers/{namespace}/{type}/{name}/…` block of a path.
#[derive(Clone, Debug)]
pub(crate) struct Block {
    pub ns: String,
    pub types: Vec<String>,
    pub names: Vec<String>,
}

/// A path that addresses a resource, a collection of resources, or an action on a resource.
#[derive(Clone, Debug)]
pub(crate) struct ResPath {
    pub sub: String,
    pub rg: Option<String>,
    pub blocks: Vec<Block>,
}

/// Every kind of ARM path the simulator answers.
#[derive(Clone, Debug)]
pub(crate) enum Route {
    Subscriptions,
    Subscription {
        sub: String,
    },
    ResourceGroups {
        sub: String,
    },
    RgResources {
        sub: String,
        rg: String,
    },
    Providers {
        sub: String,
    },
    Provider {
        sub: String,
        ns: String,
    },
    ProviderAction {
        sub: String,
        ns: String,
        action: String,
    },
    /// `…/providers/{ns}/locations/{loc}/operations/{id}` (status) or `…/operationResults/{id}` (result).
    Operation {
        sub: String,
        op: String,
        result: bool,
    },
    /// `/subscriptions/{sub}/operationresults/{id}` (resource-group deletion).
    SubOperationResult {
        sub: String,
        op: String,
    },
    Arm(ResPath),
}

impl Route {
    pub fn subscription(&self) -> Option<&str> {
        match self {
            Route::Subscriptions => None,
            Route::Subscription { sub }
            | Route::ResourceGroups { sub }
            | Route::RgResources { sub, .. }
            | Route::Providers { sub }
            | Route::Provider { sub, .. }
            | Route::ProviderAction { sub, .. }
            | Route::Operation { sub, .. }
            | Route::SubOperationResult { sub, .. } => Some(sub),
            Route::Arm(p) => Some(&p.sub),
        }
    }

    /// The resource type used for stats, journal and fault matching.
    pub fn type_label(&self) -> String {
        match self {
            Route::Subscriptions | Route::Subscription { .. } => "Microsoft.Resources/subscriptions".into(),
            Route::ResourceGroups { .. } => "Microsoft.Resources/resourceGroups".into(),
            Route::RgResources { .. } => "Microsoft.Resources/resources".into(),
            Route::Providers { .. } | Route::Provider { .. } | Route::ProviderAction { .. } => "Microsoft.Resources/providers".into(),
            Route::Operation { .. } | Route::SubOperationResult { .. } => "operations".into(),
            Route::Arm(p) => p.type_label(),
        }
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn unsupported(path: &str) -> ArmError {
    ArmError::bad_request("InvalidResourceType", format!("The resource path '{path}' is not supported by this endpoint."))
}

/// Parses a request path (without query).
pub(crate) fn parse(path: &str) -> Result<Route, ArmError> {
    let segs: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(decode).collect();
    if segs.is_empty() || !eq(&segs[0], "subscriptions") {
        return Err(ArmError::not_found("NotFound", format!("The path '{path}' does not name an ARM resource.")));
    }
    if segs.len() == 1 {
        return Ok(Route::Subscriptions);
    }
    let sub = segs[1].clone();
    if segs.len() == 2 {
        return Ok(Route::Subscription { sub });
    }
    if segs.len() == 3 && eq(&segs[2], "providers") {
        return Ok(Route::Providers { sub });
    }
    let mut i = 2;
    let mut rg = None;
    if eq(&segs[i], "resourcegroups") {
        if segs.len() == 3 {
            return Ok(Route::ResourceGroups { sub });
        }
        rg = Some(segs[3].clone());
        i = 4;
        if i < segs.len() && !eq(&segs[i], "providers") {
            if eq(&segs[i], "resources") && segs.len() == 5 {
                return Ok(Route::RgResources { sub, rg: segs[3].clone() });
            }
            return Err(unsupported(path));
        }
    } else if eq(&segs[i], "operationresults") && segs.len() == 4 {
        return Ok(Route::SubOperationResult { sub, op: segs[3].clone() });
    }
    let mut blocks: Vec<Block> = Vec::new();
    while i < segs.len() {
        if !eq(&segs[i], "providers") || i + 1 >= segs.len() {
            return Err(unsupported(path));
        }
        let mut b = Block { ns: segs[i + 1].clone(), types: Vec::new(), names: Vec::new() };
        i += 2;
        while i < segs.len() && !eq(&segs[i], "providers") {
            b.types.push(segs[i].clone());
            if i + 1 < segs.len() {
                b.names.push(segs[i + 1].clone());
            }
            i += 2;
        }
        let done = b.types.len() > b.names.len();
        blocks.push(b);
        if done && i < segs.len() {
            return Err(unsupported(path));
        }
    }
    if rg.is_none() && blocks.len() == 1 {
        let b = &blocks[0];
        if b.types.is_empty() {
            return Ok(Route::Provider { sub, ns: b.ns.clone() });
        }
        if b.types.len() == 1 && b.names.is_empty() && (eq(&b.types[0], "register") || eq(&b.types[0], "unregister")) {
            return Ok(Route::ProviderAction { sub, ns: b.ns.clone(), action: b.types[0].to_ascii_lowercase() });
        }
        if b.types.len() == 2 && b.names.len() == 2 && eq(&b.types[0], "locations") {
            let t = b.types[1].to_ascii_lowercase();
            if t == "operations" || t == "azureasyncoperation" || t == "asyncoperations" {
                return Ok(Route::Operation { sub, op: b.names[1].clone(), result: false });
            }
            if t == "operationresults" {
                return Ok(Route::Operation { sub, op: b.names[1].clone(), result: true });
            }
        }
    }
    if rg.is_none() && blocks.is_empty() {
        return Err(unsupported(path));
    }
    Ok(Route::Arm(ResPath { sub, rg, blocks }))
}

impl ResPath {
    /// True when the path names one resource (not a collection or an action).
    pub fn is_resource(&self) -> bool {
        match self.blocks.last() {
            None => true,
            Some(b) => !b.types.is_empty() && b.types.len() == b.names.len(),
        }
    }

    /// The trailing collection type or action name, when the path ends with one.
    pub fn trailing(&self) -> Option<&str> {
        let b = self.blocks.last()?;
        (b.types.len() > b.names.len()).then(|| b.types.last().map(String::as_str)).flatten()
    }

    /// Lower-case `namespace/type[/child…]` of the addressed resource (or of the collection's items).
    pub fn type_key(&self) -> String {
        match self.blocks.last() {
            None => "microsoft.resources/resourcegroups".into(),
            Some(b) => format!("{}/{}", b.ns, b.types.join("/")).to_ascii_lowercase(),
        }
    }

    /// Type as written in the request, for labels.
    pub fn type_label(&self) -> String {
        match self.blocks.last() {
            None => "Microsoft.Resources/resourceGroups".into(),
            Some(b) if b.types.is_empty() => b.ns.clone(),
            Some(b) => format!("{}/{}", b.ns, b.types.join("/")),
        }
    }

    /// Namespace of the addressed type.
    pub fn namespace(&self) -> &str {
        self.blocks.last().map(|b| b.ns.as_str()).unwrap_or("Microsoft.Resources")
    }

    /// The resource's own name.
    pub fn name(&self) -> &str {
        match self.blocks.last() {
            None => self.rg.as_deref().unwrap_or(""),
            Some(b) => b.names.last().map(String::as_str).unwrap_or(""),
        }
    }

    /// The path of the resource this path's final segment hangs off (for collections and actions:
    /// the resource they belong to), or `None` for a resource group.
    pub fn parent(&self) -> Option<ResPath> {
        let mut p = self.clone();
        let last = p.blocks.last_mut()?;
        if last.types.len() > last.names.len() {
            last.types.pop();
        } else {
            last.types.pop();
            last.names.pop();
        }
        if last.types.is_empty() {
            p.blocks.pop();
        }
        Some(p)
    }

    /// Lower-case key of this path as written (equals the key of the canonical id).
    pub fn key(&self) -> String {
        let mut s = format!("/subscriptions/{}", self.sub);
        if let Some(rg) = &self.rg {
            s.push_str("/resourcegroups/");
            s.push_str(rg);
        }
        for b in &self.blocks {
            s.push_str("/providers/");
            s.push_str(&b.ns);
            for (i, t) in b.types.iter().enumerate() {
                s.push('/');
                s.push_str(t);
                if let Some(n) = b.names.get(i) {
                    s.push('/');
                    s.push_str(n);
                }
            }
        }
        s.to_ascii_lowercase()
    }

    /// Number of (type, name) pairs in the last block: 1 for a top-level or extension resource.
    pub fn depth(&self) -> usize {
        self.blocks.last().map(|b| b.names.len()).unwrap_or(0)
    }

    /// True when this resource hangs off another resource via a second provider block.
    pub fn is_extension(&self) -> bool {
        self.blocks.len() > 1 && self.depth() == 1
    }
}

/// Lower-case key of a canonical id string.
pub(crate) fn key_of(id: &str) -> String {
    id.trim_end_matches('/').to_ascii_lowercase()
}

/// Parses a full ARM id into a resource path (for ids found in bodies).
pub(crate) fn parse_id(id: &str) -> Option<ResPath> {
    match parse(id).ok()? {
        Route::Arm(p) if p.is_resource() => Some(p),
        _ => None,
    }
}

/// The name (last segment) of an id.
pub(crate) fn last_segment(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(p: &str) -> ResPath {
        match parse(p).unwrap() {
            Route::Arm(r) => r,
            other => panic!("{p} parsed as {other:?}"),
        }
    }

    #[test]
    fn parses_nested_and_extension_paths() {
        let p = arm("/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/v/subnets/s1");
        assert!(p.is_resource());
        assert_eq!(p.type_key(), "microsoft.network/virtualnetworks/subnets");
        assert_eq!(p.name(), "s1");
        assert_eq!(p.parent().unwrap().type_key(), "microsoft.network/virtualnetworks");
        assert_eq!(p.key(), "/subscriptions/s/resourcegroups/rg/providers/microsoft.network/virtualnetworks/v/subnets/s1");

        let ra = arm(
            "/subscriptions/s/resourcegroups/rg/providers/Microsoft.KeyVault/vaults/kv/providers/Microsoft.Authorization/roleAssignments/g",
        );
        assert!(ra.is_extension());
        assert_eq!(ra.type_key(), "microsoft.authorization/roleassignments");
        assert_eq!(ra.parent().unwrap().type_key(), "microsoft.keyvault/vaults");

        let coll = arm("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets");
        assert!(!coll.is_resource());
        assert_eq!(coll.trailing(), Some("subnets"));
        assert_eq!(coll.parent().unwrap().name(), "v");

        let rg = arm("/subscriptions/s/resourcegroups/rg");
        assert_eq!(rg.type_key(), "microsoft.resources/resourcegroups");
        assert!(rg.parent().is_none());
    }

    #[test]
    fn parses_special_routes() {
        assert!(matches!(parse("/subscriptions/s/providers/Microsoft.Network").unwrap(), Route::Provider { .. }));
        assert!(matches!(parse("/subscriptions/s/providers/Microsoft.Network/register").unwrap(), Route::ProviderAction { .. }));
        assert!(matches!(
            parse("/subscriptions/s/providers/Microsoft.Network/locations/westeurope/operations/abc").unwrap(),
            Route::Operation { result: false, .. }
        ));
        assert!(matches!(parse("/subscriptions/s/operationresults/x").unwrap(), Route::SubOperationResult { .. }));
        assert!(matches!(parse("/subscriptions/s/providers").unwrap(), Route::Providers { .. }));
        assert!(matches!(parse("/subscriptions/s/resourcegroups/rg/resources").unwrap(), Route::RgResources { .. }));
        assert!(parse("/foo").is_err());
    }
}
