//! Azure public-cloud regions: names ARM accepts (`West Europe` and `westeurope` alike).

use std::sync::LazyLock;

const REGIONS: &[(&str, &str)] = &[
    ("australiacentral", "Australia Central"),
    ("australiaeast", "Australia East"),
    ("australiasoutheast", "Australia Southeast"),
    ("austriaeast", "Austria East"),
    ("belgiumcentral", "Belgium Central"),
    ("brazilsouth", "Brazil South"),
    ("canadacentral", "Canada Central"),
    ("canadaeast", "Canada East"),
    ("centralindia", "Central India"),
    ("centralus", "Central US"),
    ("chilecentral", "Chile Central"),
    ("eastasia", "East Asia"),
    ("eastus", "East US"),
    ("eastus2", "East US 2"),
    ("francecentral", "France Central"),
    ("germanywestcentral", "Germany West Central"),
    ("indonesiacentral", "Indonesia Central"),
    ("israelcentral", "Israel Central"),
    ("italynorth", "Italy North"),
    ("japaneast", "Japan East"),
    ("japanwest", "Japan West"),
    ("koreacentral", "Korea Central"),
    ("malaysiawest", "Malaysia West"),
    ("mexicocentral", "Mexico Central"),
    ("newzealandnorth", "New Zealand North"),
    ("northcentralus", "North Central US"),
    ("northeurope", "North Europe"),
    ("norwayeast", "Norway East"),
    ("polandcentral", "Poland Central"),
    ("qatarcentral", "Qatar Central"),
    ("southafricanorth", "South Africa North"),
    ("southcentralus", "South Central US"),
    ("southeastasia", "Southeast Asia"),
    ("spaincentral", "Spain Central"),
    ("swedencentral", "Sweden Central"),
    ("switzerlandnorth", "Switzerland North"),
    ("uaenorth", "UAE North"),
    ("uksouth", "UK South"),
    ("ukwest", "UK West"),
    ("westcentralus", "West Central US"),
    ("westeurope", "West Europe"),
    ("westus", "West US"),
    ("westus2", "West US 2"),
    ("westus3", "West US 3"),
];

/// Programmatic names.
pub(crate) static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| REGIONS.iter().map(|r| r.0).collect());
/// Display names.
pub(crate) static DISPLAY: LazyLock<Vec<&'static str>> = LazyLock::new(|| REGIONS.iter().map(|r| r.1).collect());

/// `West Europe` → `westeurope`; `None` for anything that is not a region.
pub(crate) fn normalise(loc: &str) -> Option<String> {
    let n: String = loc.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    NAMES.iter().find(|r| **r == n).map(|r| r.to_string())
}

/// Display name of a programmatic region name.
pub(crate) fn display(loc: &str) -> &'static str {
    REGIONS.iter().find(|r| r.0 == loc).map(|r| r.1).unwrap_or("West Europe")
}
