//! Plan-time checks every composite makes the same way, each reported on
//! its attribute: the environment, the location, tags, Azure's naming rule
//! for a name, and that an id names the right kind of object.

use std::collections::BTreeMap;

use trench_arm::ResourceId;
use trench_plugin::framework::{AttrPath, Diagnostics};
use trench_plugin::value::Val;

use crate::conventions::{self, AzureType};

/// `environment`: 2-12 lowercase letters or digits.
pub fn environment(v: &Val<String>, d: &mut Diagnostics) {
    if let Val::Known(e) = v
        && let Err(m) = conventions::check_environment(e)
    {
        d.add_attr_error(AttrPath::root("environment"), "Invalid environment", m);
    }
}

/// `location`: an Azure region.
pub fn location(v: &Val<String>, d: &mut Diagnostics) {
    if let Val::Known(l) = v
        && let Err(m) = conventions::check_location(l)
    {
        d.add_attr_error(AttrPath::root("location"), "Unknown location", m);
    }
}

/// `tags`: Azure's limits on names and values.
pub fn tags(v: &Val<BTreeMap<String, String>>, d: &mut Diagnostics) {
    if let Val::Known(tags) = v {
        for (k, value) in tags {
            if let Err(e) = conventions::check_tag(k, value) {
                d.add_attr_error(AttrPath::root("tags").key(k), "Invalid tag", e);
            }
        }
    }
}

/// A name attribute against Azure's rule for its type.
pub fn name(v: &Val<String>, attr: &str, ty: AzureType, d: &mut Diagnostics) {
    if let Val::Known(n) = v
        && let Err(e) = ty.check(n)
    {
        d.add_attr_error(AttrPath::root(attr), "Invalid name", e);
    }
}

/// An id attribute that must name an object of type `ty`.
pub fn arm_id(v: &Val<String>, attr: &str, ty: &str, d: &mut Diagnostics) {
    if let Val::Known(s) = v {
        match ResourceId::parse(s) {
            Ok(id) if id.resource_type().eq_ignore_ascii_case(ty) => {}
            Ok(id) => {
                d.add_attr_error(AttrPath::root(attr), format!("{attr} is not a {ty} id"), format!("{s} names a {}.", id.resource_type()))
            }
            Err(e) => d.add_attr_error(AttrPath::root(attr), format!("Invalid {attr}"), e.to_string()),
        }
    }
}
