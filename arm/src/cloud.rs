//! The Azure clouds and their Resource Manager and Entra ID endpoints.

/// Azure clouds and their endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloudEnvironment {
    /// Azure public cloud.
    Public,
    /// Azure US Government.
    UsGovernment,
    /// Azure China (21Vianet).
    China,
}

impl CloudEnvironment {
    /// Parses `public`, `usgovernment` or `china` (azurerm's spellings).
    pub fn parse(s: &str) -> Option<CloudEnvironment> {
        match s.to_ascii_lowercase().as_str() {
            "public" | "azurepubliccloud" => Some(CloudEnvironment::Public),
            "usgovernment" | "azureusgovernmentcloud" => Some(CloudEnvironment::UsGovernment),
            "china" | "azurechinacloud" => Some(CloudEnvironment::China),
            _ => None,
        }
    }
    /// The Resource Manager endpoint.
    pub fn arm_endpoint(self) -> &'static str {
        match self {
            CloudEnvironment::Public => "https://management.azure.com/",
            CloudEnvironment::UsGovernment => "https://management.usgovcloudapi.net/",
            CloudEnvironment::China => "https://management.chinacloudapi.cn/",
        }
    }
    /// The Entra ID authority host.
    pub fn authority_host(self) -> &'static str {
        match self {
            CloudEnvironment::Public => "https://login.microsoftonline.com/",
            CloudEnvironment::UsGovernment => "https://login.microsoftonline.us/",
            CloudEnvironment::China => "https://login.chinacloudapi.cn/",
        }
    }
}
