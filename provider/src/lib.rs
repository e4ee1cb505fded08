//! terraform-provider-trench library.
