//! armsim: a local Azure Resource Manager simulator (see ARCHITECTURE.md).
