//! Schemas as Terraform sees them, with a small builder. Every attribute has a
//! markdown description; `make docs` turns them into registry pages.

use std::collections::BTreeMap;

use crate::value::{ObjectType, Type};

/// Whether the user sets an attribute, the provider does, or either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Must be set in configuration.
    Required,
    /// May be set; null when not.
    Optional,
    /// Set by the provider only.
    Computed,
    /// May be set; the provider fills it in when not.
    OptionalComputed,
}

/// How a nested block or nested attribute repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// At most one, as an object (or null).
    Single,
    /// Exactly one, never null (nested blocks only).
    Group,
    /// An ordered list.
    List,
    /// An unordered set.
    Set,
    /// A map keyed by label.
    Map,
}

/// The type of an attribute: a plain cty type or nested attributes.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrType {
    /// A cty type.
    Type(Type),
    /// Nested attributes (protocol 6 `nested_type`).
    Nested {
        /// How the nested object repeats.
        nesting: Nesting,
        /// Its attributes.
        attributes: Vec<Attribute>,
    },
}

/// One attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// Name, `[a-z0-9_]+`.
    pub name: String,
    /// Type.
    pub ty: AttrType,
    /// Markdown description.
    pub description: String,
    /// Required/optional/computed.
    pub mode: Mode,
    /// Redacted in plan output.
    pub sensitive: bool,
    /// Never stored in state or plan (Terraform 1.11).
    pub write_only: bool,
    /// Deprecated.
    pub deprecated: bool,
}

impl Attribute {
    fn new(name: &str, ty: Type, mode: Mode) -> Attribute {
        Attribute {
            name: name.to_owned(),
            ty: AttrType::Type(ty),
            description: String::new(),
            mode,
            sensitive: false,
            write_only: false,
            deprecated: false,
        }
    }
    /// A required attribute.
    pub fn required(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty, Mode::Required)
    }
    /// An optional attribute.
    pub fn optional(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty, Mode::Optional)
    }
    /// A computed attribute.
    pub fn computed(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty, Mode::Computed)
    }
    /// An optional attribute the provider fills in when unset.
    pub fn optional_computed(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty, Mode::OptionalComputed)
    }
    /// Nested attributes.
    pub fn nested(name: &str, nesting: Nesting, mode: Mode, attributes: Vec<Attribute>) -> Attribute {
        Attribute { ty: AttrType::Nested { nesting, attributes }, ..Attribute::new(name, Type::Dynamic, mode) }
    }
    /// Sets the markdown description.
    pub fn describe(mut self, d: &str) -> Attribute {
        self.description = d.to_owned();
        self
    }
    /// Marks as sensitive.
    pub fn sensitive(mut self) -> Attribute {
        self.sensitive = true;
        self
    }
    /// Marks as write-only (never persisted).
    pub fn write_only(mut self) -> Attribute {
        self.write_only = true;
        self
    }
    /// True if configuration may set it.
    pub fn is_settable(&self) -> bool {
        self.mode != Mode::Computed
    }
    /// True if the provider may set it.
    pub fn is_computed(&self) -> bool {
        matches!(self.mode, Mode::Computed | Mode::OptionalComputed)
    }

    /// The cty type this attribute's value has.
    pub fn value_type(&self) -> Type {
        match &self.ty {
            AttrType::Type(t) => t.clone(),
            AttrType::Nested { nesting, attributes } => {
                let obj = Type::Object(ObjectType {
                    attrs: attributes.iter().map(|a| (a.name.clone(), a.value_type())).collect(),
                    optional: Default::default(),
                });
                match nesting {
                    Nesting::Single | Nesting::Group => obj,
                    Nesting::List => Type::list(obj),
                    Nesting::Set => Type::set(obj),
                    Nesting::Map => Type::map(obj),
                }
            }
        }
    }
}

/// A nested block.
#[derive(Clone, Debug, PartialEq)]
pub struct NestedBlock {
    /// Block type name.
    pub name: String,
    /// Its contents.
    pub block: Block,
    /// How it repeats.
    pub nesting: Nesting,
    /// Minimum count (0 = none).
    pub min_items: i64,
    /// Maximum count (0 = unlimited).
    pub max_items: i64,
}

/// A block: attributes and nested blocks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    /// Attributes.
    pub attributes: Vec<Attribute>,
    /// Nested blocks.
    pub blocks: Vec<NestedBlock>,
    /// Markdown description.
    pub description: String,
    /// Deprecated.
    pub deprecated: bool,
}

impl Block {
    /// An empty block with a description.
    pub fn new(description: &str) -> Block {
        Block { description: description.to_owned(), ..Block::default() }
    }
    /// Adds an attribute.
    pub fn attr(mut self, a: Attribute) -> Block {
        self.attributes.push(a);
        self
    }
    /// Adds a nested block.
    pub fn block(mut self, name: &str, nesting: Nesting, block: Block) -> Block {
        // Terraform requires min = max for SINGLE; 0/0 means "optional block".
        self.blocks.push(NestedBlock { name: name.to_owned(), block, nesting, min_items: 0, max_items: 0 });
        self
    }

    /// The object type Terraform encodes this block's values with.
    pub fn implied_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self.attributes.iter().map(|a| (a.name.clone(), a.value_type())).collect();
        for b in &self.blocks {
            let inner = b.block.implied_type();
            let t = match b.nesting {
                Nesting::Single | Nesting::Group => inner,
                Nesting::List => Type::list(inner),
                Nesting::Set => Type::set(inner),
                Nesting::Map => Type::map(inner),
            };
            attrs.insert(b.name.clone(), t);
        }
        Type::Object(ObjectType { attrs, optional: Default::default() })
    }

    /// Finds an attribute by name.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Checks the rules Terraform applies when it loads a schema, so a bad
    /// schema fails our tests instead of every user's `terraform init`.
    pub fn internal_validate(&self, at: &str) -> Result<(), String> {
        let ident = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        for a in &self.attributes {
            let here = format!("{at}.{}", a.name);
            if !ident(&a.name) {
                return Err(format!("{here}: attribute names must match [a-z0-9_]+"));
            }
            if a.description.is_empty() {
                return Err(format!("{here}: every attribute needs a description"));
            }
            if a.write_only && a.is_computed() {
                return Err(format!("{here}: write-only attributes cannot be computed"));
            }
            if let AttrType::Nested { nesting, attributes } = &a.ty {
                if *nesting == Nesting::Group {
                    return Err(format!("{here}: nested attributes cannot use GROUP nesting"));
                }
                if *nesting == Nesting::Set && attributes.iter().any(|x| x.write_only) {
                    return Err(format!("{here}: write-only attributes are not allowed inside sets"));
                }
                Block { attributes: attributes.clone(), ..Block::default() }.internal_validate(&here)?;
            }
        }
        for b in &self.blocks {
            let here = format!("{at}.{}", b.name);
            if !ident(&b.name) {
                return Err(format!("{here}: block names must match [a-z0-9_]+"));
            }
            if self.attributes.iter().any(|a| a.name == b.name) {
                return Err(format!("{here}: a block and an attribute share a name"));
            }
            match b.nesting {
                Nesting::Single if b.min_items != b.max_items || !(0..=1).contains(&b.max_items) => {
                    return Err(format!("{here}: SINGLE blocks have min_items = max_items in 0..=1"));
                }
                Nesting::Group | Nesting::Map if b.min_items != 0 || b.max_items != 0 => {
                    return Err(format!("{here}: GROUP and MAP blocks cannot set min/max items"));
                }
                Nesting::List | Nesting::Set if b.max_items != 0 && b.min_items > b.max_items => {
                    return Err(format!("{here}: min_items exceeds max_items"));
                }
                _ => {}
            }
            if b.nesting == Nesting::Set && b.block.attributes.iter().any(|x| x.write_only) {
                return Err(format!("{here}: write-only attributes are not allowed inside set blocks"));
            }
            b.block.internal_validate(&here)?;
        }
        Ok(())
    }
}

/// A versioned schema for a resource, data source or the provider.
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    /// Schema version; state written by older versions goes through the
    /// resource's state upgrader.
    pub version: i64,
    /// Top-level block.
    pub block: Block,
}

impl Schema {
    /// Version 0 schema.
    pub fn new(block: Block) -> Schema {
        Schema { version: 0, block }
    }
    /// Sets the version.
    pub fn version(mut self, v: i64) -> Schema {
        self.version = v;
        self
    }
    /// The implied type.
    pub fn implied_type(&self) -> Type {
        self.block.implied_type()
    }
    /// Paths of write-only attributes (top level and nested single blocks).
    pub fn write_only_attributes(&self) -> Vec<String> {
        self.block.attributes.iter().filter(|a| a.write_only).map(|a| a.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implied_type_covers_attributes_blocks_and_nested_attributes() {
        let b = Block::new("x")
            .attr(Attribute::required("name", Type::String).describe("n"))
            .attr(
                Attribute::nested("pools", Nesting::Map, Mode::Optional, vec![Attribute::required("count", Type::Number).describe("c")])
                    .describe("p"),
            )
            .block("timeouts", Nesting::Single, Block::new("t").attr(Attribute::optional("create", Type::String).describe("c")));
        let t = b.implied_type();
        assert_eq!(t.to_string(), "object({name=string, pools=map(object({count=number})), timeouts=object({create=string})})");
        b.internal_validate("x").unwrap();
    }

    #[test]
    fn internal_validate_rejects_what_terraform_rejects() {
        let wo_computed = Block::new("x").attr(Attribute::optional_computed("p", Type::String).describe("d").write_only());
        assert!(wo_computed.internal_validate("x").unwrap_err().contains("cannot be computed"));
        let bad_name = Block::new("x").attr(Attribute::optional("Bad", Type::String).describe("d"));
        assert!(bad_name.internal_validate("x").is_err());
        let no_desc = Block::new("x").attr(Attribute::optional("a", Type::String));
        assert!(no_desc.internal_validate("x").is_err());
        let wo_in_set = Block::new("x").block(
            "s",
            Nesting::Set,
            Block::new("s").attr(Attribute::optional("p", Type::String).describe("d").write_only()),
        );
        assert!(wo_in_set.internal_validate("x").unwrap_err().contains("inside set"));
    }
}
